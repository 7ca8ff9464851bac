# Least privilege: every statement names its actions and its resources. The two exceptions
# are forced by the services and stay as narrow as they allow:
#   - X-Ray's PutTraceSegments and PutTelemetryRecords have no resource types, so "*" is
#     the only resource they accept;
#   - log streams are named by Lambda at run time, so the log statements end in ":*" on
#     the function's own log group.
# tests/tests/infra_wiring.rs holds these policies against the calls the code makes.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesTheFunctionRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# ---------------------------------------------------------------------------------------
# poll

resource "aws_iam_role" "poll" {
  name               = "${local.poll_function_name}-function"
  description        = "Execution role of the ${local.poll_function_name} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "poll" {
  name   = "poll"
  role   = aws_iam_role.poll.id
  policy = data.aws_iam_policy_document.poll.json
}

data "aws_iam_policy_document" "poll" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.poll.arn}:*"]
  }

  statement {
    sid       = "SendTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "UseTheModuleKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "ReadAndAdvanceTheCursor"
    effect    = "Allow"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.cursor.arn]
  }

  statement {
    sid       = "HandBatchesToDetect"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.detect.arn]
  }

  statement {
    sid       = "PublishOpsNotifications"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid       = "ReadTheJumpCloudCredential"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.jumpcloud.arn]
  }

  statement {
    sid       = "ReadTheConfiguration"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.config.arn}/${aws_s3_object.config.key}"]
  }
}

# The poll function hands shards of many organisations to other invocations of itself. This
# statement names the function's own ARN, so it lives in a policy created after the function
# (the function needs its base policy before it can be created).
resource "aws_iam_role_policy" "poll_self_invoke" {
  name   = "poll-self-invoke"
  role   = aws_iam_role.poll.id
  policy = data.aws_iam_policy_document.poll_self_invoke.json
}

data "aws_iam_policy_document" "poll_self_invoke" {
  statement {
    sid       = "HandShardsToItself"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.poll.arn]
  }
}

# ---------------------------------------------------------------------------------------
# detect

resource "aws_iam_role" "detect" {
  name               = "${local.detect_function_name}-function"
  description        = "Execution role of the ${local.detect_function_name} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "detect" {
  name   = "detect"
  role   = aws_iam_role.detect.id
  policy = data.aws_iam_policy_document.detect.json
}

data "aws_iam_policy_document" "detect" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.detect.arn}:*"]
  }

  statement {
    sid       = "SendTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "UseTheModuleKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "MergeRuleState"
    effect    = "Allow"
    actions   = ["dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.state.arn]
  }

  statement {
    sid       = "StoreAndListAlerts"
    effect    = "Allow"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.alerts.arn, "${aws_dynamodb_table.alerts.arn}/index/${local.alerts_by_time_index}"]
  }

  statement {
    sid       = "PublishNotifications"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid       = "CacheEnrichmentLookups"
    effect    = "Allow"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.cache.arn]
  }

  statement {
    sid       = "ReadTheJumpCloudCredentialForEnrichment"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.jumpcloud.arn]
  }

  statement {
    sid       = "ReadTheConfiguration"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.config.arn}/${aws_s3_object.config.key}"]
  }

  # Lambda sends the failure record with the function's own role.
  statement {
    sid       = "SendFailedBatchesToTheDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.detect_dlq.arn]
  }
}

# ---------------------------------------------------------------------------------------
# EventBridge Scheduler

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssumesTheRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-schedule"
  description        = "Role EventBridge Scheduler uses to start the ${local.poll_function_name} function"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-poll"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartThePollFunction"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.poll.arn]
  }

  # The schedule is encrypted with the module key.
  statement {
    sid       = "DecryptTheSchedule"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

# ---------------------------------------------------------------------------------------
# AWS Chatbot (only with Slack). The channel only receives notifications, so the role has no
# permissions at all.

data "aws_iam_policy_document" "chatbot_assume" {
  statement {
    sid     = "ChatbotAssumesTheRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["chatbot.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "chatbot" {
  count = local.slack_enabled ? 1 : 0

  name               = "${var.name}-chatbot"
  description        = "Role of the ${var.name} Slack channel in AWS Chatbot (notifications only, no permissions)"
  assume_role_policy = data.aws_iam_policy_document.chatbot_assume.json
  tags               = local.tags
}
