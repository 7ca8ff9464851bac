# One customer-managed key encrypts everything the module stores: the DynamoDB tables, both
# SNS topics, the dead-letter queue, the JumpCloud secret, the configuration object, the log
# groups, the functions' environment and the schedule.
resource "aws_kms_key" "main" {
  description             = "jcwatch (${var.name}): tables, topics, queue, secret, config, logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "main" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.main.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" as resource means this key only, and the account-root statement is what lets IAM policies (the function roles) use the key; without it the key becomes unmanageable.
  #checkov:skip=CKV_AWS_111:Key policy: "*" as resource means this key only; the account-root statement delegates to IAM.
  #checkov:skip=CKV_AWS_356:Key policy: "*" as resource means this key only; a key policy cannot name its own ARN before the key exists.

  # Delegates access to IAM: the function and scheduler roles get kms:Decrypt and
  # kms:GenerateDataKey on this key through their own policies.
  statement {
    sid       = "AccountRootManagesKeyAndDelegatesToIam"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid    = "CloudWatchLogsEncryptsTheFunctionLogGroups"
    effect = "Allow"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.poll_log_group_name}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.detect_log_group_name}",
      ]
    }
  }

  # CloudWatch alarms publish to the encrypted ops topic as the CloudWatch service, so the
  # service needs the key; IAM cannot grant a service principal anything.
  statement {
    sid       = "CloudWatchAlarmsPublishToTheEncryptedOpsTopic"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}
