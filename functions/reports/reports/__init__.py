"""Monthly statements: PDF and XLSX per follower and month, stored, and emailed once through SendGrid."""
