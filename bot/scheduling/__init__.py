"""APScheduler wiring: the schedules live in the database; this only decides when to look."""
