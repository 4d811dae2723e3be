"""Alert router: stores every alert, collapses duplicates, and fans it out to Telegram and email by severity."""
