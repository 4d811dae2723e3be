# The only inputs of a deployment; terraform.tfvars.example shows a small file that sets them.

variable "project_id" {
  description = "Google Cloud project that holds every SpreadPilot resource."
  type        = string
}

variable "region" {
  description = "Region of the functions, buckets and the VM (us-east4 is ~7 ms from IBKR's US servers)."
  type        = string
  default     = "us-east4"
}

variable "zone" {
  description = "Zone of the gateway VM."
  type        = string
  default     = "us-east4-a"
}

variable "stage_manifest" {
  description = "Manifest written by `make stage` (function name -> content-hashed source zip)."
  type        = string
  default     = "../build/stage/manifest.json"
}

variable "vm_machine_type" {
  description = "Machine type of the gateway VM. e2-standard-2 (8 GB) holds the executor and 6 gateways (one advisor login, or per-follower logins); the supervisor refuses more."
  type        = string
  default     = "e2-standard-2"
}

variable "vm_disk_gb" {
  description = "Boot disk of the gateway VM (container images, gateway settings, logs)."
  type        = number
  default     = 30
}

variable "trading_mode" {
  description = "IB Gateway trading mode new gateways default to in the web app: paper or live."
  type        = string
  default     = "paper"

  validation {
    condition     = contains(["paper", "live"], var.trading_mode)
    error_message = "trading_mode must be paper or live."
  }
}

variable "gateways_per_vm" {
  description = "How many IB Gateway containers the VM's supervisor runs at most; 0 = from its memory (about 1 GB each, 1.5 GB kept for the executor and the system). Gateways themselves are data: added in the web app."
  type        = number
  default     = 0

  validation {
    condition     = var.gateways_per_vm >= 0 && var.gateways_per_vm <= 64
    error_message = "gateways_per_vm is 0 (from memory) to 64."
  }
}

variable "ib_gateway_image" {
  description = "The maintained IB Gateway image with IBC (pin a released tag for live trading)."
  type        = string
  default     = "ghcr.io/gnzsnz/ib-gateway:stable"
}

variable "gateway_restart_time" {
  description = "IBC's daily gateway restart, America/New_York, outside market hours (keeps the session without 2FA)."
  type        = string
  default     = "11:45 PM"
}

variable "alert_emails" {
  description = "Operators' e-mail addresses for Cloud Monitoring alerts."
  type        = list(string)
  default     = []
}

variable "statements_retention_days" {
  description = "Statements bucket retention: objects cannot be deleted or replaced before this age."
  type        = number
  default     = 2555 # seven years of monthly statements
}

variable "web_base_url" {
  description = "Public URL of the admin web app, used in alert deep links (defaults to the Firebase Hosting site's URL)."
  type        = string
  default     = ""
}

variable "function_max_instances" {
  description = "Upper bound of instances per function (cost and quota guard)."
  type        = number
  default     = 5
}

variable "heartbeat_missing_minutes" {
  description = "Alert when the executor has logged no heartbeat for this many minutes."
  type        = number
  default     = 5
}

variable "spreadsheet_id" {
  description = "Key of the strategist's Google Sheet (the id in its URL); share it read-only with the sheets-service-account."
  type        = string
}

variable "function_env" {
  description = "Extra settings per function (name -> {ENV_VAR = value}), e.g. alert chat ids; never secrets."
  type        = map(map(string))
  default     = {}
}

variable "firestore_location" {
  description = "Firestore database location (a region near the VM and the functions)."
  type        = string
  default     = "us-east4"
}

variable "executor_env" {
  description = "Extra executor settings ({SPREADPILOT_* = value}), written to its environment file on the VM; never secrets."
  type        = map(string)
  default     = {}
}

variable "firebase_tools_version" {
  description = "firebase-tools (npm) release that publishes web/ to Firebase Hosting during apply."
  type        = string
  default     = "13.35.1"
}
