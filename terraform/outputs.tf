output "gateway_ip" {
  description = "Static egress IP of the gateway VM (allow-list it in IBKR if the account uses IP restrictions)."
  value       = google_compute_address.gateway.address
}

output "admin_web_url" {
  description = "The admin web app."
  value       = local.web_base_url
}

output "admin_api_url" {
  description = "The admin API the web app calls."
  value       = google_cloudfunctions2_function.function["admin_api"].service_config[0].uri
}

output "telegram_webhook_url" {
  description = "Register it with Telegram's setWebhook, with the telegram-webhook-secret as secret_token."
  value       = google_cloudfunctions2_function.function["telegram_bot"].service_config[0].uri
}

output "statements_bucket" {
  description = "Bucket of the monthly statements."
  value       = google_storage_bucket.statements.name
}

output "iap_ssh" {
  description = "How to reach the VM (OS Login through IAP; no public SSH)."
  value       = "gcloud compute ssh ${google_compute_instance.gateway.name} --zone ${var.zone} --tunnel-through-iap"
}
