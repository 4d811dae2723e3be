"""SpreadPilot's order executor: every enabled follower gets the day's spread exactly once (``python -m executor``)."""
