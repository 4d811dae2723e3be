"""The signal poller: reads the strategist's sheet on each Scheduler tick and publishes the day's signal once."""
