# Secret Manager: the secrets of resources.yaml, plus each gateway's IBKR login. Terraform creates the secrets
# only; their values are added out of band (`gcloud secrets versions add NAME --data-file=-`, README "Deploy")
# so no value ever reaches the repository or the terraform state.

resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = each.key
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

locals {
  # Each gateway of var.gateways logs in with its own username and password secrets.
  gateway_secrets = merge([
    for id, gw in var.gateways : {
      "ibkr-${id}-username"     = id
      "ibkr-${id}-password"     = id
      "ibkr-${id}-vnc-password" = id
    }
  ]...)
}

resource "google_secret_manager_secret" "gateway" {
  for_each  = local.gateway_secrets
  secret_id = each.key
  labels    = merge(local.labels, { gateway = each.value })

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Only the VM reads the gateway logins (its startup script writes them to files the containers mount).
resource "google_secret_manager_secret_iam_member" "gateway_vm" {
  for_each  = local.gateway_secrets
  secret_id = google_secret_manager_secret.gateway[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.vm.email}"
}
