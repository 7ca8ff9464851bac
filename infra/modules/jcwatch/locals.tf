data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  poll_function_name   = "${var.name}-poll"
  detect_function_name = "${var.name}-detect"

  # Log group names are fixed before the functions exist so the KMS key policy can name
  # them without a dependency cycle (key -> log group -> function -> key).
  poll_log_group_name   = "/aws/lambda/${local.poll_function_name}"
  detect_log_group_name = "/aws/lambda/${local.detect_function_name}"

  # The alerts table's index for listing alerts by time. The detect function writes
  # gsi1pk (organisation id, or "all") and gsi1sk (first_seen, RFC 3339) on every alert.
  alerts_by_time_index = "by_time"

  config_s3_uri = "s3://${aws_s3_bucket.config.id}/${aws_s3_object.config.key}"

  # A short digest of the configuration file goes into the functions' descriptions:
  # changing the file then updates both functions, which retires warm instances that
  # still hold the previous configuration (it is read once per cold start).
  config_digest = substr(filesha256(var.config_file), 0, 12)

  slack_enabled = var.slack_workspace_id != null && var.slack_channel_id != null

  # The environment contract with the function code (see README.md). Optional entries are
  # null when unset and are left out of the function's environment, so the code's own
  # defaults apply.
  poll_environment = {
    JC_SECRET_ARN     = aws_secretsmanager_secret.jumpcloud.arn
    JC_REGION         = var.jumpcloud_region
    JC_BASE_URL       = var.jumpcloud_base_url
    JC_ORG_IDS        = length(var.jumpcloud_org_ids) > 0 ? join(",", var.jumpcloud_org_ids) : null
    CURSOR_TABLE      = aws_dynamodb_table.cursor.name
    DETECT_FUNCTION   = aws_lambda_function.detect.function_name
    TOPIC_ARN         = aws_sns_topic.alerts.arn
    POLL_LAG          = var.poll_lag
    POLL_OVERLAP      = var.poll_overlap
    POLL_BACKFILL     = var.poll_backfill
    POLL_SHARD_SIZE   = var.poll_shard_size == null ? null : tostring(var.poll_shard_size)
    JCWATCH_CONFIG_S3 = local.config_s3_uri
  }

  detect_environment = {
    ALERTS_TABLE      = aws_dynamodb_table.alerts.name
    STATE_TABLE       = aws_dynamodb_table.state.name
    TOPIC_ARN         = aws_sns_topic.alerts.arn
    JCWATCH_CONFIG_S3 = local.config_s3_uri
    # Enrichment: the cache of directory look-ups and address history, and the credential
    # and region it looks people up with.
    CACHE_TABLE   = aws_dynamodb_table.cache.name
    JC_SECRET_ARN = aws_secretsmanager_secret.jumpcloud.arn
    JC_REGION     = var.jumpcloud_region
    JC_BASE_URL   = var.jumpcloud_base_url
  }

  # One subscription per address, whatever lists it appears in: SNS refuses a second
  # subscription of the same endpoint with different attributes.
  email_routes = {
    for address in distinct(concat(var.duet_emails, var.alert_emails, var.ops_emails)) :
    address => compact([
      contains(var.duet_emails, address) ? "duet" : "",
      contains(var.alert_emails, address) ? "alert" : "",
      contains(var.ops_emails, address) ? "ops" : "",
    ])
  }

  tags = merge({ "jcwatch:deployment" = var.name }, var.tags)
}
