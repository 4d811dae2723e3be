# Provider and state. State lives in a GCS bucket created once by hand (see README.md, "Deploy"):
#   terraform init -backend-config="bucket=<project>-tfstate"
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.14"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.14"
    }
  }

  backend "gcs" {
    prefix = "spreadpilot"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# Firebase resources (project, web app, hosting site) live in the beta provider.
provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
