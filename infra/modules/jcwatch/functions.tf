resource "aws_cloudwatch_log_group" "poll" {
  name              = local.poll_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "detect" {
  name              = local.detect_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
  tags              = local.tags
}

# Reads Directory Insights on the schedule, keeps the cursor per organisation and hands the
# events to the detect function in batches (asynchronous invocations).
resource "aws_lambda_function" "poll" {
  #checkov:skip=CKV_AWS_116:A failed poll loses nothing: the cursor only moves after hand-off, and the next scheduled tick polls the same window again, so there is no event to keep in a dead-letter queue.
  #checkov:skip=CKV_AWS_117:The function calls the public JumpCloud API and regional AWS APIs only; a VPC would need a NAT gateway and add no protection to those calls.
  #checkov:skip=CKV_AWS_272:The zip is built by the operator with cargo-lambda from source; code signing needs an AWS Signer profile the module cannot assume exists.
  function_name                  = local.poll_function_name
  description                    = "jcwatch: polls JumpCloud Directory Insights (config ${local.config_digest})"
  role                           = aws_iam_role.poll.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.architecture]
  filename                       = var.poll_zip_path
  source_code_hash               = filebase64sha256(var.poll_zip_path)
  memory_size                    = var.poll_memory_mb
  timeout                        = var.poll_timeout_seconds
  reserved_concurrent_executions = var.poll_reserved_concurrency
  kms_key_arn                    = aws_kms_key.main.arn

  environment {
    variables = { for key, value in local.poll_environment : key => value if value != null }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.poll.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  tags = local.tags

  # Lambda checks the role's X-Ray and logging permissions when the function is created.
  depends_on = [aws_iam_role_policy.poll]
}

# Runs the detection rules over one batch, stores alerts and publishes notifications.
resource "aws_lambda_function" "detect" {
  #checkov:skip=CKV_AWS_116:Failed batches go to the SQS dead-letter queue through the on-failure destination of aws_lambda_function_event_invoke_config.detect, which keeps the whole invocation record; a dead_letter_config would be a second, poorer copy.
  #checkov:skip=CKV_AWS_117:The function calls regional AWS APIs only; a VPC would need a NAT gateway or endpoints and add no protection to those calls.
  #checkov:skip=CKV_AWS_272:The zip is built by the operator with cargo-lambda from source; code signing needs an AWS Signer profile the module cannot assume exists.
  function_name                  = local.detect_function_name
  description                    = "jcwatch: runs detection rules on event batches (config ${local.config_digest})"
  role                           = aws_iam_role.detect.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.architecture]
  filename                       = var.detect_zip_path
  source_code_hash               = filebase64sha256(var.detect_zip_path)
  memory_size                    = var.detect_memory_mb
  timeout                        = var.detect_timeout_seconds
  reserved_concurrent_executions = var.detect_reserved_concurrency
  kms_key_arn                    = aws_kms_key.main.arn

  environment {
    variables = { for key, value in local.detect_environment : key => value if value != null }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.detect.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.detect]
}

# A batch the detect function fails on is retried twice, then its invocation record
# (payload plus envelope) goes to the dead-letter queue, from which `jcwatch` replays it.
resource "aws_lambda_function_event_invoke_config" "detect" {
  function_name                = aws_lambda_function.detect.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = var.detect_maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.detect_dlq.arn
    }
  }
}

# A failed or stale poll is not retried: the next tick polls the same window from the saved
# cursor, and a retry would only race it for the cursor.
resource "aws_lambda_function_event_invoke_config" "poll" {
  function_name                = aws_lambda_function.poll.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 900
}
