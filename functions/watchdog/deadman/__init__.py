"""Dead-man's switch: every minute in market hours, check that the executor, gateways, signal and orders are alive."""
