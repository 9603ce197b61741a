from ocrwatch.cli import app

app(prog_name="ocrwatch")
