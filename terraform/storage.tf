# Buckets: function sources, monthly statements, and the admin web app.

locals {
  # Virtual-hosted URL: one browser origin per bucket, so no other bucket's page shares the app's storage.
  web_origin = "https://${google_storage_bucket.web.name}.storage.googleapis.com"

  web_files = fileset("${path.module}/../web", "**")
  content_types = {
    html = "text/html; charset=utf-8"
    js   = "text/javascript; charset=utf-8"
    mjs  = "text/javascript; charset=utf-8"
    css  = "text/css; charset=utf-8"
    json = "application/json"
    svg  = "image/svg+xml"
    png  = "image/png"
    ico  = "image/x-icon"
    txt  = "text/plain; charset=utf-8"
  }
}

resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:Holds only build inputs (content-hashed source zips); access logs would record nothing an operator needs.
  name                        = "${var.project_id}-function-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 90 # zips are content-addressed: old ones are only needed for a quick rollback
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket" "statements" {
  #checkov:skip=CKV_GCP_62:Reads are already audited by Data Access audit logs (enabled in monitoring.tf); a second log bucket would duplicate them.
  name                        = "${var.project_id}-statements"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  # Statements are records: they cannot be deleted or replaced before the retention period ends.
  retention_policy {
    retention_period = var.statements_retention_days * 86400
  }
}

resource "google_storage_bucket" "web" {
  #checkov:skip=CKV_GCP_62:Public static assets; request logs add cost without telling anything the admin API's logs do not.
  #checkov:skip=CKV_GCP_78:The site is rebuilt from the repository on every apply; the repository is its history.
  #checkov:skip=CKV_GCP_114:Browsers must read the static app anonymously; it holds code only, no data (see web_public below).
  name                        = "${var.project_id}-admin-web"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "inherited" # the static app must be readable by browsers
  labels                      = local.labels

  website {
    main_page_suffix = "index.html"
  }

  cors {
    origin          = [local.web_origin]
    method          = ["GET", "HEAD"]
    response_header = ["Content-Type"]
    max_age_seconds = 3600
  }
}

resource "google_storage_bucket_iam_member" "web_public" {
  #checkov:skip=CKV_GCP_28:The admin web app is static code with no data; every data access goes through the admin API, which checks an ID token.
  bucket = google_storage_bucket.web.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}

resource "google_storage_bucket_object" "web" {
  for_each      = local.web_files
  name          = each.value
  bucket        = google_storage_bucket.web.name
  source        = "${path.module}/../web/${each.value}"
  content_type  = lookup(local.content_types, reverse(split(".", each.value))[0], "application/octet-stream")
  cache_control = "no-cache"
}

# The web app reads where its API is from this file (it is not in the repository: it depends on the deployment).
resource "google_storage_bucket_object" "web_config" {
  name          = "config.json"
  bucket        = google_storage_bucket.web.name
  content_type  = "application/json"
  cache_control = "no-cache"
  content = jsonencode({
    apiBaseUrl = google_cloudfunctions2_function.function["admin_api"].service_config[0].uri
    projectId  = var.project_id
  })
}
