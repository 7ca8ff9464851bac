# Starts the poll function. Scheduler delivers `input` as the function's event without an
# envelope of its own, so the input is shaped like an EventBridge scheduled event: the poll
# function can read it as `aws_lambda_events::eventbridge::EventBridgeEvent` or as its own
# struct with `time`.
resource "aws_scheduler_schedule" "poll" {
  name                = "${var.name}-poll"
  description         = "Runs the jcwatch poll function"
  schedule_expression = var.schedule_expression
  kms_key_arn         = aws_kms_key.main.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.poll.arn
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      version       = "0"
      id            = "<aws.scheduler.execution-id>"
      "detail-type" = "Scheduled Event"
      source        = "aws.scheduler"
      account       = local.account_id
      time          = "<aws.scheduler.scheduled-time>"
      region        = local.region
      resources     = ["<aws.scheduler.schedule-arn>"]
      detail        = {}
    })

    # A tick that cannot be delivered within five minutes is replaced by the next one.
    retry_policy {
      maximum_event_age_in_seconds = 300
      maximum_retry_attempts       = 3
    }
  }
}
