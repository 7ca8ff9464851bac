output "next_steps" {
  description = "What to do after the first apply."
  value = {
    "1_put_the_jumpcloud_credential" = module.jcwatch.put_secret_command
    "2_confirm_these_subscriptions"  = module.jcwatch.pending_email_confirmations
    "3_watch_the_poll_logs"          = "aws logs tail /aws/lambda/${module.jcwatch.poll_function_name} --follow"
  }
}

output "poll_function_name" {
  description = "Name of the poll function."
  value       = module.jcwatch.poll_function_name
}

output "detect_function_name" {
  description = "Name of the detect function."
  value       = module.jcwatch.detect_function_name
}

output "topic_arn" {
  description = "SNS topic of notifications."
  value       = module.jcwatch.topic_arn
}

output "ops_topic_arn" {
  description = "SNS topic of alarms."
  value       = module.jcwatch.ops_topic_arn
}

output "secret_arn" {
  description = "Secret holding the JumpCloud credential."
  value       = module.jcwatch.secret_arn
}

output "put_secret_command" {
  description = "Stores the JumpCloud credential."
  value       = module.jcwatch.put_secret_command
}

output "dlq_url" {
  description = "Dead-letter queue of failed detect batches."
  value       = module.jcwatch.dlq_url
}

output "replay_command" {
  description = "Replays the dead-letter queue into the detect function."
  value       = module.jcwatch.replay_command
}

output "table_names" {
  description = "DynamoDB tables."
  value       = module.jcwatch.table_names
}
