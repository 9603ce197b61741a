"""What the people who keep ocrwatch running watch: Prometheus metrics, JSON logs, systemd's watchdog."""
