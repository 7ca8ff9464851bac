# Two topics.
#
# `alerts` carries everything the functions publish. Each message has the attributes
# route (duet | alert | ops), severity and rule_id, and e-mail subscriptions filter on route.
#
# `ops` carries the CloudWatch alarms. An alarm notification cannot carry message
# attributes, so on the alerts topic it would match no route filter; a topic of its own
# delivers it to the ops recipients (and Slack) without a filter. Ops addresses are
# therefore subscribed twice: to `ops` (alarms) and to `alerts` filtered on route=ops (the
# functions' own operational notices, such as a rejected JumpCloud key).
resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  display_name      = "jcwatch"
  kms_master_key_id = aws_kms_key.main.arn
  tags              = local.tags

  lifecycle {
    precondition {
      condition     = (var.slack_workspace_id == null) == (var.slack_channel_id == null)
      error_message = "Set both slack_workspace_id and slack_channel_id to connect Slack, or neither."
    }
  }
}

# The default topic policy lets this account's CloudWatch alarms publish; the key policy
# (kms.tf) lets CloudWatch use the key that encrypts the topic.
resource "aws_sns_topic" "ops" {
  name              = "${var.name}-ops"
  display_name      = "jcwatch ops"
  kms_master_key_id = aws_kms_key.main.arn
  tags              = local.tags
}

# One subscription per address with the routes it asked for. E-mail subscriptions stay
# "pending confirmation" until the recipient clicks the link SNS sends.
resource "aws_sns_topic_subscription" "email" {
  for_each = local.email_routes

  topic_arn           = aws_sns_topic.alerts.arn
  protocol            = "email"
  endpoint            = each.key
  filter_policy_scope = "MessageAttributes"
  filter_policy       = jsonencode({ route = each.value })
}

resource "aws_sns_topic_subscription" "ops_alarm_email" {
  for_each = toset(var.ops_emails)

  topic_arn = aws_sns_topic.ops.arn
  protocol  = "email"
  endpoint  = each.value
}

# Slack through AWS Chatbot. The workspace must have been authorised once in the Chatbot
# console; the channel configuration then subscribes Chatbot to both topics. Chatbot reads
# the `https` key of the functions' JSON messages (a custom-notification document) and
# renders CloudWatch alarms natively.
resource "aws_chatbot_slack_channel_configuration" "slack" {
  count = local.slack_enabled ? 1 : 0

  configuration_name          = var.name
  iam_role_arn                = aws_iam_role.chatbot[0].arn
  slack_team_id               = var.slack_workspace_id
  slack_channel_id            = var.slack_channel_id
  sns_topic_arns              = [aws_sns_topic.alerts.arn, aws_sns_topic.ops.arn]
  logging_level               = var.chatbot_logging_level
  user_authorization_required = true
  # The channel only receives notifications: the deny-all guardrail stops anyone in the
  # channel from running AWS commands through Chatbot (without a guardrail Chatbot applies
  # AdministratorAccess as the ceiling).
  guardrail_policy_arns = ["arn:${local.partition}:iam::aws:policy/AWSDenyAll"]
  tags                  = local.tags
}
