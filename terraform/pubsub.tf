# Topics, subscriptions and dead-letter routing, all from resources.yaml.

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # A subscription gets a dead-letter policy when its topic names a dead-letter topic and it caps deliveries.
  dead_lettered = {
    for name, sub in local.subscriptions : name => {
      topic    = try(local.topics[sub.topic].dead_letter, null)
      attempts = try(sub.max_delivery_attempts, null)
    } if try(local.topics[sub.topic].dead_letter, null) != null && try(sub.max_delivery_attempts, null) != null
  }
}

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Messages are small, short-lived envelopes without secrets; Google-managed encryption suffices and a CMEK key would add a KMS dependency to every publish.
  for_each                   = local.topics
  name                       = each.key
  message_retention_duration = "604800s"
  labels                     = local.labels
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_subscription" "pull" {
  for_each                   = local.pull_subscriptions
  name                       = each.key
  topic                      = google_pubsub_topic.topic[each.value.topic].id
  ack_deadline_seconds       = try(each.value.ack_deadline_s, 60)
  message_retention_duration = "604800s"
  labels                     = local.labels

  expiration_policy {
    ttl = "" # never expire, even through a long holiday weekend without traffic
  }

  retry_policy {
    minimum_backoff = "${try(each.value.min_backoff_s, 10)}s"
    maximum_backoff = "${try(each.value.max_backoff_s, 600)}s"
  }

  dynamic "dead_letter_policy" {
    for_each = contains(keys(local.dead_lettered), each.key) ? [local.dead_lettered[each.key]] : []
    content {
      dead_letter_topic     = google_pubsub_topic.topic[dead_letter_policy.value.topic].id
      max_delivery_attempts = dead_letter_policy.value.attempts
    }
  }
}

resource "google_pubsub_subscription" "push" {
  for_each = local.push_subscriptions
  name     = each.key
  topic    = google_pubsub_topic.topic[each.value.topic].id
  # The endpoint must answer within the function's own timeout; a slower answer is redelivered.
  ack_deadline_seconds       = try(each.value.ack_deadline_s, local.function_timeout_s)
  message_retention_duration = "604800s"
  labels                     = local.labels

  push_config {
    push_endpoint = google_cloudfunctions2_function.function[each.value.function].service_config[0].uri
    oidc_token {
      # The function's own service account: it alone may invoke its service (see functions.tf).
      service_account_email = google_service_account.function[each.value.function].email
    }
  }

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "${try(each.value.min_backoff_s, 10)}s"
    maximum_backoff = "${try(each.value.max_backoff_s, 600)}s"
  }

  dynamic "dead_letter_policy" {
    for_each = contains(keys(local.dead_lettered), each.key) ? [local.dead_lettered[each.key]] : []
    content {
      dead_letter_topic     = google_pubsub_topic.topic[dead_letter_policy.value.topic].id
      max_delivery_attempts = dead_letter_policy.value.attempts
    }
  }
}

# Pub/Sub's service agent forwards undeliverable messages: it publishes to the dead-letter topics and must be
# able to acknowledge the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics
  topic    = google_pubsub_topic.topic[each.key].id
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source" {
  for_each     = local.dead_lettered
  subscription = contains(keys(local.push_subscriptions), each.key) ? google_pubsub_subscription.push[each.key].id : google_pubsub_subscription.pull[each.key].id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# Pub/Sub's service agent mints the OIDC token of each push subscription as that function's service account.
resource "google_service_account_iam_member" "push_token_creator" {
  for_each           = toset([for name, sub in local.push_subscriptions : sub.function])
  service_account_id = google_service_account.function[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}
