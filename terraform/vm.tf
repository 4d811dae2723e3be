# The gateway VM: the executor, and a supervisor that runs one IB Gateway container (with its health probe) per
# gateways/{id} document assigned to this VM, installed by the startup script from gateway-vm/deploy/. Static
# external IP (IBKR ties the no-2FA daily restart to a stable IP), Shielded VM, OS Login, no public SSH: port 22
# only from Google's IAP range. Egress only otherwise.

locals {
  iap_range = "35.235.240.0/20"

  # The deploy files travel in instance metadata; the startup script writes them out and installs them.
  deploy_dir = "${path.module}/../gateway-vm/deploy"
  deploy_files = {
    for f in fileset(local.deploy_dir, "**") : f => filebase64("${local.deploy_dir}/${f}")
    if !startswith(basename(f), ".") && !endswith(f, ".pyc") && !strcontains(f, "__pycache__")
  }
}

resource "google_compute_network" "vpc" {
  name                    = "spreadpilot"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.apis]
}

resource "google_compute_subnetwork" "vm" {
  name                     = "spreadpilot-${var.region}"
  network                  = google_compute_network.vpc.id
  region                   = var.region
  ip_cidr_range            = "10.60.0.0/24"
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "iap_ssh" {
  name          = "spreadpilot-allow-iap-ssh"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  source_ranges = [local.iap_range]
  target_tags   = ["gateway-vm"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "deny_ingress" {
  name          = "spreadpilot-deny-ingress"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 65000
  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_address" "gateway" {
  name         = "spreadpilot-gateway"
  region       = var.region
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
}

resource "google_compute_instance" "gateway" {
  #checkov:skip=CKV_GCP_40:IBKR sees the VM's egress IP; a stable public IP keeps IBC's daily restart free of 2FA. Ingress is closed by the firewall (IAP SSH only).
  #checkov:skip=CKV_GCP_38:The boot disk holds no customer data (Firestore is the system of record); Google-managed encryption suffices.
  name         = "spreadpilot-gateway"
  machine_type = var.vm_machine_type
  zone         = var.zone
  tags         = ["gateway-vm"]
  labels       = local.labels

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = var.vm_disk_gb
      type  = "pd-balanced"
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.vm.id
    access_config {
      nat_ip       = google_compute_address.gateway.address
      network_tier = "PREMIUM"
    }
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  service_account {
    email  = google_service_account.vm.email
    scopes = ["cloud-platform"] # what the VM may do is decided by its service account's IAM roles
  }

  metadata = {
    enable-oslogin         = "TRUE"
    block-project-ssh-keys = "TRUE"
    serial-port-enable     = "FALSE"
    startup-script         = file("${local.deploy_dir}/startup.sh")
    # Read by startup.sh: what to run (settings) and the deploy files themselves ({path: base64}).
    spreadpilot-config = jsonencode({
      project         = var.project_id
      trading_mode    = var.trading_mode
      image           = var.ib_gateway_image
      restart_time    = var.gateway_restart_time
      vm_name         = "spreadpilot-gateway"
      gateways_per_vm = var.gateways_per_vm
      executor_bundle = "gs://${google_storage_bucket.sources.name}/${google_storage_bucket_object.executor_bundle.name}"
      executor_env = merge(
        { GOOGLE_CLOUD_PROJECT = var.project_id, SPREADPILOT_WEB_BASE_URL = local.web_base_url },
        var.executor_env,
      )
    })
    spreadpilot-files = jsonencode(local.deploy_files)
  }

  # The executor's code travels as the staged bundle in the sources bucket (see `executor_bundle` below).
  allow_stopping_for_update = true

  depends_on = [google_project_iam_member.project, google_project_iam_member.secret_prefix]
}

# The executor's code: the gateway-vm/executor package + spreadpilot + its pins, assembled by `make stage`.
resource "google_storage_bucket_object" "executor_bundle" {
  name   = "executor/${local.stage.executor.zip}"
  bucket = google_storage_bucket.sources.name
  source = "${local.stage_dir}/${local.stage.executor.zip}"
}

resource "google_storage_bucket_iam_member" "sources" {
  for_each = local.sources_bucket_grants
  bucket   = google_storage_bucket.sources.name
  role     = each.value.role
  member   = "serviceAccount:${local.sa_email[each.value.who]}"
}
