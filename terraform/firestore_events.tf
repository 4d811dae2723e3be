# The events stream (spreadpilot.events) is a timeline for operators, not a record to keep: each event carries
# expire_at (30 days after it happened) and Firestore's TTL policy deletes it after that.
resource "google_firestore_field" "events_ttl" {
  database   = google_firestore_database.main.name
  collection = "events"
  field      = "expire_at"

  ttl_config {}

  # Nothing queries expire_at: no single-field index is kept for it.
  index_config {}
}
