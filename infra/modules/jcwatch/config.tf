# The jcwatch configuration file, shipped to both functions as an S3 object. The functions
# read it once per cold start from JCWATCH_CONFIG_S3.
resource "aws_s3_bucket" "config" {
  #checkov:skip=CKV_AWS_18:The bucket holds one small configuration object written by Terraform and read by the two functions; server access logs would need a second bucket and add nothing CloudTrail does not record.
  #checkov:skip=CKV_AWS_144:The configuration is the Terraform-managed copy of a file kept in source control; cross-region replication would only duplicate it.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to changes of the configuration object; the functions read it at cold start and Terraform updates them when it changes.
  bucket_prefix = "${var.name}-config-"
  force_destroy = true
  tags          = local.tags
}

resource "aws_s3_bucket_ownership_controls" "config" {
  bucket = aws_s3_bucket.config.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "config" {
  bucket                  = aws_s3_bucket.config.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "config" {
  bucket = aws_s3_bucket.config.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "config" {
  bucket = aws_s3_bucket.config.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
  }
}

# Earlier versions of the configuration stay 90 days, long enough to see what changed.
resource "aws_s3_bucket_lifecycle_configuration" "config" {
  bucket = aws_s3_bucket.config.id

  rule {
    id     = "expire-old-config-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.config]
}

resource "aws_s3_bucket_policy" "config" {
  bucket = aws_s3_bucket.config.id
  policy = data.aws_iam_policy_document.config_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.config]
}

data "aws_iam_policy_document" "config_bucket" {
  statement {
    sid       = "DenyRequestsWithoutTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.config.arn, "${aws_s3_bucket.config.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_object" "config" {
  bucket                 = aws_s3_bucket.config.id
  key                    = "jcwatch.toml"
  source                 = var.config_file
  source_hash            = filemd5(var.config_file)
  content_type           = "application/toml"
  server_side_encryption = "aws:kms"
  kms_key_id             = aws_kms_key.main.arn
  bucket_key_enabled     = true
  tags                   = local.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.config]
}
