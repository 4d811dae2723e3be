# Cloud Functions (2nd gen, Python 3.11) from the content-hashed zips of `make stage`: a changed function gets a
# new object name, so terraform redeploys exactly the functions whose code or pins changed.
#
# Pub/Sub-driven functions have no Eventarc trigger: resources.yaml's push subscriptions POST to them with an OIDC
# token of the function's own service account, the only identity allowed to invoke them. functions-framework
# accepts the raw push envelope as a CloudEvent. HTTP functions (Telegram webhook, admin API) are public at the
# network level and authenticate every request themselves (webhook secret header / Firebase ID token).

locals {
  function_timeout_s = 300

  function_common_env = {
    GOOGLE_CLOUD_PROJECT     = var.project_id
    SPREADPILOT_WEB_BASE_URL = local.web_base_url
    SPREADPILOT_LOG_LEVEL    = "INFO"
  }

  # Settings terraform itself knows; everything else comes from var.function_env.
  function_derived_env = {
    signal_poller = { SPREADPILOT_SHEET_ID = var.spreadsheet_id }
    reports       = { SPREADPILOT_STATEMENTS_BUCKET = google_storage_bucket.statements.name }
    admin_api     = { SPREADPILOT_CORS_ORIGIN = local.web_origin }
  }

  stage_dir = dirname("${path.module}/${var.stage_manifest}")
}

resource "google_storage_bucket_object" "source" {
  for_each = local.functions
  name     = "functions/${local.stage.functions[each.key].zip}"
  bucket   = google_storage_bucket.sources.name
  source   = "${local.stage_dir}/${local.stage.functions[each.key].zip}"
}

resource "google_cloudfunctions2_function" "function" {
  for_each    = local.functions
  name        = replace(each.key, "_", "-")
  location    = var.region
  description = "SpreadPilot ${each.key} (${each.value.trigger})"
  labels      = local.labels

  build_config {
    runtime     = "python311"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source[each.key].name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.function[each.key].email
    max_instance_count             = var.function_max_instances
    available_memory               = each.key == "reports" ? "1Gi" : "512Mi"
    timeout_seconds                = local.function_timeout_s
    all_traffic_on_latest_revision = true
    # Push subscriptions from the same project count as internal traffic; webhooks and the browser do not.
    ingress_settings = each.value.trigger == "http" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    environment_variables = merge(
      local.function_common_env,
      lookup(local.function_derived_env, each.key, {}),
      lookup(var.function_env, each.key, {}),
    )

    dynamic "secret_environment_variables" {
      for_each = lookup(local.secret_accessors, each.key, {})
      content {
        key        = secret_environment_variables.value.env
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [google_project_service.apis, google_secret_manager_secret_iam_member.accessor]
}

# Push subscriptions invoke a function as that function's service account (OIDC); nobody else may.
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = toset([for name, sub in local.push_subscriptions : sub.function])
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Telegram's webhook and the admin web app cannot carry a Google identity: the functions check the webhook secret
# header and the Firebase ID token on every request instead.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  for_each = { for name, fn in local.functions : name => fn if fn.trigger == "http" }
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
