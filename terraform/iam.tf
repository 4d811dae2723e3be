# One service account per function and one for the gateway VM, each with the least roles it needs.
# Every grant below carries its reason; terraform/README.md shows the same table (a test keeps them equal).
# Grants are on the narrowest resource that exists: a topic, a subscription, a secret, a bucket, a service.
# Firestore has no per-collection IAM, so Firestore access is the project-level roles/datastore.user.
# tests/unit/infra/test_infra_iam_derived.py derives every Google API call from the code and checks that these
# grants cover each one and that each grant is used (local/iamcheck); the local Secret Manager fake and the local
# identity issuer enforce the same grants, so a missing one also fails the integration tests.

locals {
  # Principals: every function of resources.yaml plus "executor" (the gateway VM).
  principals = setunion(keys(local.functions), ["executor"])

  project_roles = {
    signal_poller = {
      "roles/datastore.user" = "reads followers and controls, writes signals, signal_days and claims"
    }
    alert_router = {
      "roles/datastore.user" = "writes alerts with their delivery state and cooldown claims"
    }
    pnl = {
      "roles/datastore.user" = "reads snapshots and fills, writes daily_pnl, monthly_pnl and invoices"
    }
    reports = {
      "roles/datastore.user" = "reads monthly_pnl, followers and fills, writes statements and claims"
    }
    watchdog = {
      "roles/datastore.user" = "reads heartbeats and signals, writes claims for its alerts"
    }
    telegram_bot = {
      "roles/datastore.user" = "reads positions and P&L for replies, writes commands and audit"
    }
    admin_api = {
      "roles/datastore.user" = "reads and edits followers, gateways, controls and commands for the admin web app"
      "custom/secretCreator" = "creates a new gateway's login secret (empty; writing its value is granted per prefix below)"
      "custom/operatorAdmin" = "invites operators, sets their role claim and disables them (Identity Platform accounts)"
    }
    executor = {
      "roles/datastore.user"          = "writes orders, fills, positions, snapshots, heartbeats; reads followers and controls"
      "roles/logging.logWriter"       = "the Ops Agent ships the executor's and gateways' journald logs"
      "roles/monitoring.metricWriter" = "the Ops Agent and the health probe write VM metrics"
    }
  }

  # principal => topic => reason. Topic names come from resources.yaml (a test checks each key).
  topic_publishers = {
    signal_poller = {
      signals = "publishes the day's accepted signal to the executor"
      alerts  = "raises rejected-row, no-signal and edited-row alerts"
    }
    alert_router = {
      "alerts-dead-letter" = "parks an alert whose every channel failed after its maximum attempts"
    }
    pnl = {
      alerts               = "raises daily-loss and P&L job alerts"
      "statement-requests" = "asks reports for each follower's monthly statement on the 1st"
    }
    watchdog = {
      alerts = "raises executor-heartbeat and gateway-disconnected alerts"
    }
    telegram_bot = {
      commands = "forwards operators' close-all / kill-switch commands to the executor"
    }
    admin_api = {
      commands             = "forwards admin actions (close positions, kill switch) to the executor"
      alerts               = "tells operators that followers lost their gateway when an admin removes it"
      "statement-requests" = "asks reports to regenerate or resend a follower's statement for an admin"
      signals              = "publishes the day's signal an admin entered by hand while the sheet was down"
    }
    executor = {
      alerts = "raises order, assignment and connectivity alerts"
    }
  }

  # principal => subscription => reason (pull subscriptions only; push ones need no subscriber role).
  subscription_subscribers = {
    executor = {
      "executor-signals"  = "pulls signals to place follower orders"
      "executor-commands" = "pulls operator commands"
    }
  }

  # principal => secret => {env, why}: the function gets the secret's latest version injected as env (STYLE: secrets
  # have one home and reach a function as env). Gateway logins are data: see secret_prefix_roles.
  secret_accessors = {
    signal_poller = {
      "sheets-service-account" = { env = "SPREADPILOT_SHEETS_SERVICE_ACCOUNT_JSON", why = "reads the strategist's Google Sheet" }
    }
    alert_router = {
      "sendgrid-api-key"   = { env = "SENDGRID_API_KEY", why = "e-mails CRITICAL alerts" }
      "telegram-bot-token" = { env = "TELEGRAM_BOT_TOKEN", why = "sends WARNING and CRITICAL alerts to Telegram" }
    }
    reports = {
      "sendgrid-api-key" = { env = "SPREADPILOT_SENDGRID_API_KEY", why = "e-mails monthly statements" }
    }
    telegram_bot = {
      "telegram-bot-token"      = { env = "TELEGRAM_BOT_TOKEN", why = "answers operators' commands" }
      "telegram-webhook-secret" = { env = "TELEGRAM_WEBHOOK_SECRET", why = "checks that a webhook call really comes from Telegram" }
    }
  }

  # principal => role => {prefix, why}: a project-level grant that an IAM condition limits to the secrets whose name
  # starts with prefix: the gateway-only name space of IB Gateway logins (spreadpilot.secrets.GATEWAY_LOGIN_PREFIX).
  # Conditions see secret names with the project number (projects/<number>/secrets/<id>[/versions/<v>]).
  secret_prefix_roles = {
    admin_api = {
      "custom/gatewayLoginWriter" = { prefix = "gateway-login-", why = "stores a gateway's login as a new version, deletes it with the gateway; never reads it" }
    }
    executor = {
      "roles/secretmanager.secretAccessor" = { prefix = "gateway-login-", why = "the supervisor starts each gateway's container with its login" }
    }
  }

  # Custom roles: permission sets no predefined role offers without much more. secretmanager.secrets.create is
  # checked against the project (a condition on the new secret's name cannot narrow it): it makes an empty secret
  # and gives no access to any other; writing a value needs gatewayLoginWriter, which is limited to the prefix.
  custom_roles = {
    secretCreator = {
      title       = "SpreadPilot secret creator"
      permissions = ["secretmanager.secrets.create"]
    }
    gatewayLoginWriter = {
      title       = "SpreadPilot gateway login writer"
      permissions = ["secretmanager.versions.add", "secretmanager.secrets.delete"]
    }
    operatorAdmin = {
      title       = "SpreadPilot operator administrator"
      permissions = ["firebaseauth.users.create", "firebaseauth.users.get", "firebaseauth.users.update", "firebaseauth.users.sendEmail"]
    }
  }

  # principal => bucket role => reason, on the statements bucket only.
  statements_bucket_roles = {
    reports = {
      "roles/storage.objectCreator" = "stores each follower's PDF and XLSX statement (create-if-absent, never read back)"
    }
    admin_api = {
      "roles/storage.objectViewer" = "lets an admin download a follower's statement"
    }
  }

  # principal => role => reason, on the principal's own service account.
  own_account_roles = {
    admin_api = {
      "roles/iam.serviceAccountTokenCreator" = "signs V4 download URLs of statements through IAM (signBlob as itself)"
    }
  }

  # principal => bucket role => reason, on the function-sources bucket only.
  sources_bucket_roles = {
    executor = {
      "roles/storage.objectViewer" = "the startup script downloads the staged executor bundle"
    }
  }

  project_grants = merge([
    for who, roles in local.project_roles : { for role, why in roles : "${who} ${role}" => { who = who, role = role } }
  ]...)
  topic_grants = merge([
    for who, topics in local.topic_publishers : { for topic, why in topics : "${who} ${topic}" => { who = who, topic = topic } }
  ]...)
  subscription_grants = merge([
    for who, subs in local.subscription_subscribers : { for sub, why in subs : "${who} ${sub}" => { who = who, sub = sub } }
  ]...)
  secret_grants = merge([
    for who, secrets in local.secret_accessors : { for secret, why in secrets : "${who} ${secret}" => { who = who, secret = secret } }
  ]...)
  bucket_grants = merge([
    for who, roles in local.statements_bucket_roles : { for role, why in roles : "${who} ${role}" => { who = who, role = role } }
  ]...)

  sources_bucket_grants = merge([
    for who, roles in local.sources_bucket_roles : { for role, why in roles : "${who} ${role}" => { who = who, role = role } }
  ]...)

  secret_prefix_grants = merge([
    for who, roles in local.secret_prefix_roles : { for role, g in roles : "${who} ${role}" => { who = who, role = role, prefix = g.prefix } }
  ]...)

  own_account_grants = merge([
    for who, roles in local.own_account_roles : { for role, why in roles : "${who} ${role}" => { who = who, role = role } }
  ]...)

  sa_email = merge(
    { for name, sa in google_service_account.function : name => sa.email },
    { executor = google_service_account.vm.email },
  )
}

resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = "fn-${replace(each.key, "_", "-")}"
  display_name = "SpreadPilot function ${each.key}"
}

resource "google_service_account" "vm" {
  account_id   = "gateway-vm"
  display_name = "SpreadPilot gateway VM (executor, IB Gateway, health probe)"
}

resource "google_project_iam_custom_role" "role" {
  for_each    = local.custom_roles
  role_id     = "spreadpilot${upper(substr(each.key, 0, 1))}${substr(each.key, 1, -1)}"
  title       = each.value.title
  permissions = each.value.permissions
}

resource "google_project_iam_member" "project" {
  for_each = local.project_grants
  project  = var.project_id
  role     = startswith(each.value.role, "custom/") ? google_project_iam_custom_role.role[trimprefix(each.value.role, "custom/")].id : each.value.role
  member   = "serviceAccount:${local.sa_email[each.value.who]}"
}

resource "google_project_iam_member" "secret_prefix" {
  for_each = local.secret_prefix_grants
  project  = var.project_id
  role     = startswith(each.value.role, "custom/") ? google_project_iam_custom_role.role[trimprefix(each.value.role, "custom/")].id : each.value.role
  member   = "serviceAccount:${local.sa_email[each.value.who]}"

  condition {
    title      = "secrets ${each.value.prefix}*"
    expression = "resource.name.startsWith(\"projects/${data.google_project.this.number}/secrets/${each.value.prefix}\")"
  }
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.topic_grants
  topic    = google_pubsub_topic.topic[each.value.topic].id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${local.sa_email[each.value.who]}"
}

resource "google_pubsub_subscription_iam_member" "subscriber" {
  for_each     = local.subscription_grants
  subscription = google_pubsub_subscription.pull[each.value.sub].id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${local.sa_email[each.value.who]}"
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = local.secret_grants
  secret_id = google_secret_manager_secret.secret[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${local.sa_email[each.value.who]}"
}

resource "google_storage_bucket_iam_member" "statements" {
  for_each = local.bucket_grants
  bucket   = google_storage_bucket.statements.name
  role     = each.value.role
  member   = "serviceAccount:${local.sa_email[each.value.who]}"
}

resource "google_service_account_iam_member" "own_account" {
  for_each           = local.own_account_grants
  service_account_id = each.value.who == "executor" ? google_service_account.vm.name : google_service_account.function[each.value.who].name
  role               = each.value.role
  member             = "serviceAccount:${local.sa_email[each.value.who]}"
}
