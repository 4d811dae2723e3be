# Monitoring: log-based metrics, alert policies, a dashboard and e-mail notification channels.
#
# Log contracts (structured JSON from spreadpilot.logs, shipped by Cloud Run and by the VM's Ops Agent):
#   executor heartbeat   jsonPayload.component="executor-watchdog" AND jsonPayload.message="heartbeat" (logged by
#                        gateway-vm/deploy/executor_watchdog.py each time Firestore heartbeats/executor is fresh)
#   gateway health       jsonPayload.component="healthprobe", jsonPayload.healthy (bool), jsonPayload.gateway
#   function errors      any Cloud Run (functions 2nd gen) entry with severity >= ERROR

locals {
  function_services     = [for name, fn in local.functions : replace(name, "_", "-")]
  dead_letter_subs      = [for name, sub in local.pull_subscriptions : name if contains(local.dead_letter_topics, sub.topic)]
  notification_channels = [for ch in google_monitoring_notification_channel.email : ch.id]
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.alert_emails)
  display_name = "SpreadPilot operator ${each.key}"
  type         = "email"
  labels       = { email_address = each.key }
}

resource "google_logging_metric" "executor_heartbeat" {
  name   = "spreadpilot/executor_heartbeat"
  filter = "jsonPayload.component=\"executor-watchdog\" AND jsonPayload.message=\"heartbeat\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_logging_metric" "gateway_unhealthy" {
  name   = "spreadpilot/gateway_unhealthy"
  filter = "jsonPayload.component=\"healthprobe\" AND jsonPayload.healthy=false"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "gateway"
      value_type  = "STRING"
      description = "gateway id (gateways/{id} in Firestore)"
    }
  }
  label_extractors = { gateway = "EXTRACT(jsonPayload.gateway)" }
}

resource "google_logging_metric" "function_errors" {
  name   = "spreadpilot/function_errors"
  filter = "resource.type=\"cloud_run_revision\" AND severity>=ERROR AND resource.labels.service_name=~\"^(${join("|", local.function_services)})$\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "function"
      value_type  = "STRING"
      description = "the function's service name"
    }
  }
  label_extractors = { function = "EXTRACT(resource.labels.service_name)" }
}

resource "google_monitoring_alert_policy" "executor_heartbeat_missing" {
  display_name          = "SpreadPilot: executor heartbeat missing"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "CRITICAL"

  conditions {
    display_name = "no executor heartbeat for ${var.heartbeat_missing_minutes} min"
    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.executor_heartbeat.name}\" AND resource.type=\"gce_instance\""
      duration = "${var.heartbeat_missing_minutes * 60}s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    content   = "The executor on the gateway VM logged no heartbeat. Check `systemctl status spreadpilot-executor` over IAP SSH; followers' orders are not being placed."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "gateway_disconnected" {
  display_name          = "SpreadPilot: IB Gateway not answering"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "CRITICAL"

  conditions {
    display_name = "health probe failed twice in 3 min"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.gateway_unhealthy.name}\" AND resource.type=\"gce_instance\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "0s"
      aggregations {
        alignment_period     = "180s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.gateway"]
      }
    }
  }

  documentation {
    content   = "The health probe could not complete the TWS API handshake. Outside the nightly restart (~23:45 ET) this usually means a 2FA login is pending (Sundays, after a reboot): open VNC through an IAP tunnel."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  display_name          = "SpreadPilot: function errors"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "ERROR"

  conditions {
    display_name = "error logs from a function"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
    }
  }

  documentation {
    content   = "A SpreadPilot function logged an error. Open Logs Explorer filtered on the function's service name."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "SpreadPilot: dead-letter topic not empty"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "WARNING"

  conditions {
    display_name = "undelivered messages in a dead-letter subscription"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(",", [for s in local.dead_letter_subs : "\"${s}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "A message could not be delivered after its maximum attempts. Pull it from the dead-letters-* subscription to see why, fix, and republish."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_dashboard" "main" {
  dashboard_json = jsonencode({
    displayName = "SpreadPilot"
    mosaicLayout = {
      columns = 12
      tiles = [
        for i, tile in [
          { title = "Executor heartbeats / min", filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.executor_heartbeat.name}\"", aligner = "ALIGN_SUM", group = [] },
          { title = "Gateway probe failures", filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.gateway_unhealthy.name}\"", aligner = "ALIGN_SUM", group = ["metric.label.gateway"] },
          { title = "Function errors", filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\"", aligner = "ALIGN_SUM", group = ["metric.label.function"] },
          { title = "Function requests", filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\"", aligner = "ALIGN_RATE", group = ["resource.label.service_name"] },
          { title = "Dead-letter backlog", filter = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\"", aligner = "ALIGN_MAX", group = ["resource.label.subscription_id"] },
          { title = "Gateway VM CPU", filter = "metric.type=\"compute.googleapis.com/instance/cpu/utilization\" AND resource.type=\"gce_instance\"", aligner = "ALIGN_MEAN", group = [] },
          ] : {
          xPos   = (i % 2) * 6
          yPos   = floor(i / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = tile.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = tile.filter
                    aggregation = {
                      alignmentPeriod    = "60s"
                      perSeriesAligner   = tile.aligner
                      crossSeriesReducer = length(tile.group) > 0 ? "REDUCE_SUM" : "REDUCE_NONE"
                      groupByFields      = tile.group
                    }
                  }
                }
              }]
            }
          }
        }
      ]
    }
  })
}

# Reads of statements are audited (who downloaded which follower's statement).
resource "google_project_iam_audit_config" "storage_reads" {
  project = var.project_id
  service = "storage.googleapis.com"
  audit_log_config {
    log_type = "DATA_READ"
  }
}
