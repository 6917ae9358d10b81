"""Operations: the HTTP server for webhooks, /healthz and /metrics (Prometheus)."""
