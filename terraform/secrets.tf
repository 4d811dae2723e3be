# Secret Manager: the secrets of resources.yaml. Terraform creates the secrets only; their values are added out of
# band (`gcloud secrets versions add NAME --data-file=-`, README "Deploy") so no value ever reaches the repository
# or the terraform state. Gateway logins are data (gateways/{id} in Firestore): the admin API writes each one to
# gateway-login-<id> and the VM's supervisor reads it; their grants are in iam.tf (secret_prefix_roles).

resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = each.key
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}
