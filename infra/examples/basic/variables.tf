variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "jcwatch"
}

variable "architecture" {
  description = "x86_64 or arm64; must match the cargo lambda build flag (--x86-64 or --arm64)."
  type        = string
  default     = "x86_64"
}

variable "config_file" {
  description = "The jcwatch TOML configuration shipped to the functions."
  type        = string
  default     = "jcwatch.toml"
}

variable "jumpcloud_region" {
  description = "us, eu or in."
  type        = string
  default     = "us"
}

variable "jumpcloud_org_ids" {
  description = "Organisations to poll with a multi-tenant key; empty for the key's own organisation."
  type        = list(string)
  default     = []
}

variable "duet_emails" {
  description = "Recipients of DUET notifications."
  type        = list(string)
  default     = []
}

variable "alert_emails" {
  description = "Recipients of security alerts."
  type        = list(string)
  default     = []
}

variable "ops_emails" {
  description = "Recipients of operational notices and CloudWatch alarms."
  type        = list(string)
  default     = []
}

variable "slack_workspace_id" {
  description = "Slack workspace id from the AWS Chatbot console, or null."
  type        = string
  default     = null
}

variable "slack_channel_id" {
  description = "Slack channel id, or null."
  type        = string
  default     = null
}
