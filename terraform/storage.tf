# Buckets: function sources (and the executor bundle) and monthly statements. The web app is on Firebase
# Hosting (hosting.tf).

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
      # Function zips are only read when a function is built; old ones serve a quick rollback. The executor bundle
      # is read at every VM boot, so it is never aged out.
      age            = 90
      matches_prefix = ["functions/"]
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket" "statements" {
  #checkov:skip=CKV_GCP_62:Reads are already audited by Data Access audit logs (enabled in monitoring.tf); a second log bucket would duplicate them.
  #checkov:skip=CKV_GCP_78:Cloud Storage does not allow Object Versioning together with a retention policy; the retention policy already forbids deleting or replacing a statement.
  name                        = "${var.project_id}-statements"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  # Statements are records: they cannot be deleted or replaced before the retention period ends.
  retention_policy {
    retention_period = var.statements_retention_days * 86400
  }
}
