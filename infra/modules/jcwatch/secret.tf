# The JumpCloud credential. Terraform creates the secret only: its value is put with the AWS
# CLI (output `put_secret_command`), so it never passes through Terraform's plan or state.
# The value is an API key string, or JSON {"api_key": "..."} or
# {"client_id": "...", "client_secret": "..."} for a service account.
resource "aws_secretsmanager_secret" "jumpcloud" {
  #checkov:skip=CKV2_AWS_57:JumpCloud API keys and service-account secrets are rotated in the JumpCloud console, not by a rotation Lambda; README.md "Rotating the key" gives the steps.
  name_prefix             = "${var.name}/jumpcloud-credential-"
  description             = "JumpCloud API key or service-account credential read by the ${local.poll_function_name} function"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}
