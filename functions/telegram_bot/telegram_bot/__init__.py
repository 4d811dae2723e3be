"""Operator bot: a Telegram webhook that reports status and turns operator commands into ``commands`` messages."""
