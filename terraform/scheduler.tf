# Cloud Scheduler publishes a tick to each job's topic at the DESIGN.md times, America/New_York.
# The cron limits ticks to weekdays; the functions skip exchange holidays themselves (exchange calendar), so a
# holiday costs one cheap no-op invocation instead of a second calendar in terraform.

resource "google_cloud_scheduler_job" "job" {
  for_each  = local.scheduler
  name      = each.key
  region    = var.region
  schedule  = each.value.schedule
  time_zone = "America/New_York"

  pubsub_target {
    topic_name = google_pubsub_topic.topic[each.value.topic].id
    data       = base64encode(jsonencode({ job = each.key }))
    attributes = { job = each.key }
  }

  retry_config {
    retry_count = 0 # a tick is only useful in its own minute; the next one follows
  }

  depends_on = [google_project_service.apis]
}
