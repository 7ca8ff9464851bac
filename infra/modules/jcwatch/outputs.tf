output "poll_function_name" {
  description = "Name of the poll function (logs in /aws/lambda/<name>)."
  value       = aws_lambda_function.poll.function_name
}

output "detect_function_name" {
  description = "Name of the detect function (logs in /aws/lambda/<name>)."
  value       = aws_lambda_function.detect.function_name
}

output "topic_arn" {
  description = "SNS topic the functions publish DUETs, alerts and ops notices to (attribute route = duet | alert | ops)."
  value       = aws_sns_topic.alerts.arn
}

output "ops_topic_arn" {
  description = "SNS topic the CloudWatch alarms publish to."
  value       = aws_sns_topic.ops.arn
}

output "secret_arn" {
  description = "Secrets Manager secret the poll function reads the JumpCloud credential from. It starts empty."
  value       = aws_secretsmanager_secret.jumpcloud.arn
}

output "put_secret_command" {
  description = "Stores the JumpCloud credential without passing it through Terraform: write the API key (or the service-account JSON) to the file first, run this, then delete the file."
  value       = "aws secretsmanager put-secret-value --region ${local.region} --secret-id '${aws_secretsmanager_secret.jumpcloud.arn}' --secret-string file://jumpcloud-credential.txt"
}

output "dlq_url" {
  description = "URL of the dead-letter queue that holds batches the detect function failed on."
  value       = aws_sqs_queue.detect_dlq.url
}

output "replay_command" {
  description = "Sends the batches held in the dead-letter queue to the detect function again (run after fixing what made them fail)."
  value       = "AWS_REGION=${local.region} jcwatch replay --queue-url '${aws_sqs_queue.detect_dlq.url}' --function '${aws_lambda_function.detect.function_name}'"
}

output "table_names" {
  description = "DynamoDB table names by role."
  value = {
    cursor = aws_dynamodb_table.cursor.name
    state  = aws_dynamodb_table.state.name
    alerts = aws_dynamodb_table.alerts.name
    cache  = aws_dynamodb_table.cache.name
  }
}

output "alerts_by_time_index" {
  description = "Name of the alerts table's index keyed by gsi1pk (organisation or \"all\") and gsi1sk (first_seen)."
  value       = local.alerts_by_time_index
}

output "config_s3_uri" {
  description = "Where the functions read the configuration from (JCWATCH_CONFIG_S3)."
  value       = local.config_s3_uri
}

output "kms_key_arn" {
  description = "The module's customer-managed KMS key."
  value       = aws_kms_key.main.arn
}

output "schedule_name" {
  description = "EventBridge Scheduler schedule that starts the poll function (disable it to pause polling)."
  value       = aws_scheduler_schedule.poll.name
}

output "alarm_names" {
  description = "CloudWatch alarms that publish to the ops topic."
  value = [
    aws_cloudwatch_metric_alarm.poll_errors.alarm_name,
    aws_cloudwatch_metric_alarm.detect_errors.alarm_name,
    aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name,
    aws_cloudwatch_metric_alarm.detect_destination_failures.alarm_name,
    aws_cloudwatch_metric_alarm.no_events_fetched.alarm_name,
  ]
}

output "pending_email_confirmations" {
  description = "Addresses that must click the confirmation link SNS mailed them (ops addresses get two: alerts topic and ops topic)."
  value       = sort(concat(keys(local.email_routes), [for address in var.ops_emails : "${address} (ops topic)"]))
}

output "slack_channel_configuration_arn" {
  description = "AWS Chatbot channel configuration, when Slack is connected."
  value       = local.slack_enabled ? aws_chatbot_slack_channel_configuration.slack[0].chat_configuration_arn : null
}
