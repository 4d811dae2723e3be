# The admin web app on Firebase Hosting.
#
# Why Firebase Hosting and not a bucket website: the app routes with history.pushState, so deep links from alerts
# (/alerts/{id}, /followers/{id}) must serve index.html for any path, which Hosting's rewrite does and a bucket
# served over HTTPS without a load balancer cannot; it reads /config.json at the site root; it signs in through
# Identity Toolkit with the Firebase web app's API key; and Hosting gives HTTPS on its own origin at no cost at this
# traffic. Terraform creates the site and publishes web/ + a generated config.json with the Firebase CLI
# (deploy_web.sh, run by terraform_data whenever a file or the config changes), so `terraform apply` stays the
# whole deployment; the deploying machine needs Node.js (npx) for that step.

locals {
  web_site_id = "${var.project_id}-admin"
  web_origin  = "https://${local.web_site_id}.web.app"
  web_files   = sort(fileset("${path.module}/../web", "**"))
  web_config = {
    apiBaseUrl = google_cloudfunctions2_function.function["admin_api"].service_config[0].uri
    signInUrl  = "https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=${data.google_firebase_web_app_config.admin.api_key}"
  }
}

resource "google_firebase_project" "this" {
  provider   = google-beta
  project    = var.project_id
  depends_on = [google_project_service.apis]
}

resource "google_firebase_web_app" "admin" {
  provider        = google-beta
  project         = var.project_id
  display_name    = "SpreadPilot admin"
  deletion_policy = "DELETE"
  depends_on      = [google_firebase_project.this]
}

data "google_firebase_web_app_config" "admin" {
  provider   = google-beta
  project    = var.project_id
  web_app_id = google_firebase_web_app.admin.app_id
}

resource "google_firebase_hosting_site" "admin" {
  provider = google-beta
  project  = var.project_id
  site_id  = local.web_site_id
  app_id   = google_firebase_web_app.admin.app_id
}

# E-mail/password sign-in for operators (accounts and their role claims are created by an admin, README "Deploy").
resource "google_identity_platform_config" "auth" {
  project                    = var.project_id
  autodelete_anonymous_users = true

  sign_in {
    allow_duplicate_emails = false
    email {
      enabled           = true
      password_required = true
    }
  }

  authorized_domains = ["${local.web_site_id}.web.app", "${local.web_site_id}.firebaseapp.com"]
  depends_on         = [google_project_service.apis]
}

resource "terraform_data" "web_release" {
  triggers_replace = [
    sha256(join("", [for f in local.web_files : filesha256("${path.module}/../web/${f}")])),
    sha256(jsonencode(local.web_config)),
    filesha256("${path.module}/deploy_web.sh"),
  ]

  provisioner "local-exec" {
    command = "${path.module}/deploy_web.sh"
    environment = {
      PROJECT          = var.project_id
      SITE             = google_firebase_hosting_site.admin.site_id
      WEB_DIR          = "${path.module}/../web"
      OUT_DIR          = "${path.module}/../build/web"
      WEB_CONFIG       = jsonencode(local.web_config)
      FIREBASE_VERSION = var.firebase_tools_version
    }
  }
}
