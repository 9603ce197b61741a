"""Full-text search over the index: the query language (`query`), filters and sort (`filters`), words
read a letter or two off (`fuzzy`, over the vocabulary of `terms` and `vocabulary`), a search by
filters alone (`browse`), and what a hit shows (`hits`, `snippets`). What only one database can do
is its dialect's (`index/dialects/`)."""
