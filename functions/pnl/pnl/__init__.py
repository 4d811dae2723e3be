"""P&L rollups: the day's realized P&L and MTM per follower, the month's statement, commission and invoice."""
