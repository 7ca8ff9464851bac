# A complete jcwatch deployment. Build the function zips first, from the repository root:
#   cargo lambda build --release --x86-64 --output-format zip
# then, in this directory: terraform init && terraform apply.
module "jcwatch" {
  source = "../../modules/jcwatch"

  name         = var.name
  architecture = var.architecture
  config_file  = var.config_file

  # The zips cargo-lambda writes, as seen from this directory.
  poll_zip_path   = "../../../target/lambda/poll/bootstrap.zip"
  detect_zip_path = "../../../target/lambda/detect/bootstrap.zip"

  jumpcloud_region  = var.jumpcloud_region
  jumpcloud_org_ids = var.jumpcloud_org_ids

  duet_emails  = var.duet_emails
  alert_emails = var.alert_emails
  ops_emails   = var.ops_emails

  slack_workspace_id = var.slack_workspace_id
  slack_channel_id   = var.slack_channel_id
}
