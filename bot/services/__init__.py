"""Application services: domain rules plus storage, without Telegram."""
