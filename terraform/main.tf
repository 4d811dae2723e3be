# Everything named here comes from shared/spreadpilot/resources.yaml, the one declaration the code reads too:
# terraform never repeats a topic, subscription, scheduler job, function or secret name.

locals {
  resources = yamldecode(file("${path.module}/../shared/spreadpilot/resources.yaml"))

  topics        = local.resources.topics
  subscriptions = local.resources.subscriptions
  scheduler     = local.resources.scheduler
  functions     = local.resources.functions
  secrets       = toset(local.resources.secrets)

  push_subscriptions = { for name, sub in local.subscriptions : name => sub if sub.type == "push" }
  pull_subscriptions = { for name, sub in local.subscriptions : name => sub if sub.type == "pull" }
  dead_letter_topics = toset(compact([for name, topic in local.topics : try(topic.dead_letter, null)]))

  # `make stage` writes this: {"functions": {"<name>": {"zip": "<name>-<sha12>.zip", "sha256": ...}}}.
  stage = jsondecode(file("${path.module}/${var.stage_manifest}"))

  web_base_url = var.web_base_url != "" ? var.web_base_url : local.web_origin

  labels = { app = "spreadpilot" }
}

data "google_project" "this" {}

resource "google_project_service" "apis" {
  for_each = toset([
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "artifactregistry.googleapis.com",
    "iap.googleapis.com",
    "firebase.googleapis.com",
    "firebasehosting.googleapis.com",
    "identitytoolkit.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}
