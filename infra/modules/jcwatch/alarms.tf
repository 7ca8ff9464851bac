# Operational alarms. They publish to the ops topic (notifications.tf explains why not the
# alerts topic), both when they fire and when they recover.

resource "aws_cloudwatch_metric_alarm" "poll_errors" {
  alarm_name          = "${local.poll_function_name}-errors"
  alarm_description   = "The jcwatch poll function failed in at least two of the last three 5-minute periods: check its logs for error_type (Fatal usually means a rejected JumpCloud key)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.poll.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
  ok_actions          = [aws_sns_topic.ops.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "detect_errors" {
  alarm_name          = "${local.detect_function_name}-errors"
  alarm_description   = "The jcwatch detect function failed on a batch (Lambda retries it twice, then it goes to the dead-letter queue): check its logs for error_type."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.detect.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
  ok_actions          = [aws_sns_topic.ops.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.name}-detect-dlq-not-empty"
  alarm_description   = "Batches the detect function could not process are waiting in the dead-letter queue; fix the cause, then replay them (output replay_command). They are kept 14 days."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.detect_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
  ok_actions          = [aws_sns_topic.ops.arn]
  tags                = local.tags
}

# If Lambda cannot deliver a failure record to the dead-letter queue, that batch is gone.
resource "aws_cloudwatch_metric_alarm" "detect_destination_failures" {
  alarm_name          = "${local.detect_function_name}-dlq-delivery-failures"
  alarm_description   = "Lambda could not send a failed detect batch to the dead-letter queue, so the batch was lost: check the queue's KMS and size settings and the detect role's sqs:SendMessage."
  namespace           = "AWS/Lambda"
  metric_name         = "DestinationDeliveryFailures"
  dimensions          = { FunctionName = aws_lambda_function.detect.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
  ok_actions          = [aws_sns_topic.ops.arn]
  tags                = local.tags
}

# "No events fetched for N hours". The poll function logs one JSON line per invocation with
# the number of events it fetched in `fields.events_fetched` (README.md, "Log contract");
# the filter turns it into a metric. Hours without any such line count as breaching, so a
# poll that stopped running raises the same alarm as an organisation that went quiet.
resource "aws_cloudwatch_log_metric_filter" "events_fetched" {
  name           = "${local.poll_function_name}-events-fetched"
  log_group_name = aws_cloudwatch_log_group.poll.name
  pattern        = "{ $.fields.events_fetched = * }"

  metric_transformation {
    name      = "EventsFetched"
    namespace = "jcwatch/${var.name}"
    value     = "$.fields.events_fetched"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "no_events_fetched" {
  alarm_name          = "${local.poll_function_name}-no-events"
  alarm_description   = "The jcwatch poll function fetched no Directory Insights events for ${var.no_events_alarm_hours} hours, or did not run: check the schedule, the poll logs and the JumpCloud key."
  namespace           = aws_cloudwatch_log_metric_filter.events_fetched.metric_transformation[0].namespace
  metric_name         = aws_cloudwatch_log_metric_filter.events_fetched.metric_transformation[0].name
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.no_events_alarm_hours
  datapoints_to_alarm = var.no_events_alarm_hours
  threshold           = 0
  comparison_operator = "LessThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
  ok_actions          = [aws_sns_topic.ops.arn]
  tags                = local.tags
}
