//! A Terraform module read into the few shapes the wiring checks need.
//!
//! Nothing here evaluates Terraform: it parses the `.tf` files with `hcl-rs` and answers
//! structural questions: which resources an expression refers to (following `local.`
//! values), which keys an object expression can produce (following `merge()`, `for`
//! expressions, conditionals and locals), and the literal value of an expression where
//! it has one (following variable defaults).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};

/// The top-level blocks of one Terraform module directory (its `*.tf` files, not recursive).
#[derive(Debug, Default)]
pub struct TfModule {
    pub dir: PathBuf,
    /// `"aws_lambda_function.poll"` -> block.
    pub resources: BTreeMap<String, Block>,
    /// `"data.aws_iam_policy_document.poll"` -> block.
    pub data: BTreeMap<String, Block>,
    pub locals: BTreeMap<String, Expression>,
    pub variables: BTreeMap<String, Block>,
    pub outputs: BTreeMap<String, Block>,
    pub module_calls: BTreeMap<String, Block>,
    pub terraform_blocks: Vec<Block>,
    pub providers: Vec<Block>,
}

impl TfModule {
    /// Parses every `*.tf` file of `dir`. A file that does not parse is an error naming it.
    pub fn load(dir: &Path) -> Result<TfModule, String> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| format!("cannot list Terraform module {}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "tf"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("{} holds no .tf files", dir.display()));
        }

        let mut module = TfModule {
            dir: dir.to_path_buf(),
            ..TfModule::default()
        };
        for file in files {
            let text = fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let body = hcl::parse(&text)
                .map_err(|e| format!("{} is not valid HCL: {e}", file.display()))?;
            module.add_body(&file, body)?;
        }
        Ok(module)
    }

    fn add_body(&mut self, file: &Path, body: Body) -> Result<(), String> {
        for block in body.into_blocks() {
            let labels: Vec<String> = block
                .labels()
                .iter()
                .map(|l| l.as_str().to_owned())
                .collect();
            let duplicate = match (block.identifier(), labels.as_slice()) {
                ("resource", [ty, name]) => self
                    .resources
                    .insert(format!("{ty}.{name}"), block)
                    .is_some(),
                ("data", [ty, name]) => self
                    .data
                    .insert(format!("data.{ty}.{name}"), block)
                    .is_some(),
                ("variable", [name]) => self.variables.insert(name.clone(), block).is_some(),
                ("output", [name]) => self.outputs.insert(name.clone(), block).is_some(),
                ("module", [name]) => self.module_calls.insert(name.clone(), block).is_some(),
                ("locals", []) => {
                    for attribute in block.body().attributes() {
                        let key = attribute.key().to_owned();
                        if self
                            .locals
                            .insert(key.clone(), attribute.expr().clone())
                            .is_some()
                        {
                            return Err(format!(
                                "{}: local.{key} is defined twice",
                                file.display()
                            ));
                        }
                    }
                    false
                }
                ("terraform", []) => {
                    self.terraform_blocks.push(block);
                    false
                }
                ("provider", [_]) => {
                    self.providers.push(block);
                    false
                }
                ("check" | "moved" | "import" | "removed", _) => false,
                (other, labels) => {
                    return Err(format!(
                        "{}: unexpected top-level block {other} {labels:?}",
                        file.display()
                    ));
                }
            };
            if duplicate {
                return Err(format!(
                    "{}: a block is defined twice ({labels:?})",
                    file.display()
                ));
            }
        }
        Ok(())
    }

    /// Resources of one type, by name.
    pub fn resources_of_type<'a>(
        &'a self,
        ty: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Block)> + 'a {
        self.resources.iter().filter_map(move |(address, block)| {
            address
                .strip_prefix(ty)
                .and_then(|rest| rest.strip_prefix('.'))
                .map(|name| (name, block))
        })
    }

    /// The default of `variable "name"`, if it has one.
    pub fn variable_default(&self, name: &str) -> Option<&Expression> {
        attr(self.variables.get(name)?.body(), "default")
    }

    /// Every resource, data source and variable an expression refers to, as
    /// `aws_x.name`, `data.aws_y.name` or `var.name`; `local.` values are followed.
    pub fn refs(&self, expr: &Expression) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        self.collect_refs(expr, &mut found, &mut BTreeSet::new());
        found
    }

    /// Only the resource and data-source references of [`TfModule::refs`].
    pub fn resource_refs(&self, expr: &Expression) -> BTreeSet<String> {
        self.refs(expr)
            .into_iter()
            .filter(|r| !r.starts_with("var."))
            .collect()
    }

    fn collect_refs(
        &self,
        expr: &Expression,
        found: &mut BTreeSet<String>,
        seen_locals: &mut BTreeSet<String>,
    ) {
        match expr {
            Expression::Traversal(traversal) => {
                if let Some(reference) = self.traversal_root(&traversal.expr, &traversal.operators)
                {
                    match reference {
                        Root::Local(name) => {
                            if seen_locals.insert(name.clone())
                                && let Some(value) = self.locals.get(&name)
                            {
                                self.collect_refs(value, found, seen_locals);
                            }
                        }
                        Root::Other(address) => {
                            found.insert(address);
                        }
                    }
                } else {
                    self.collect_refs(&traversal.expr, found, seen_locals);
                }
                for operator in &traversal.operators {
                    if let TraversalOperator::Index(index) = operator {
                        self.collect_refs(index, found, seen_locals);
                    }
                }
            }
            Expression::Array(items) => {
                for item in items {
                    self.collect_refs(item, found, seen_locals);
                }
            }
            Expression::Object(object) => {
                for (key, value) in object {
                    if let ObjectKey::Expression(key) = key {
                        self.collect_refs(key, found, seen_locals);
                    }
                    self.collect_refs(value, found, seen_locals);
                }
            }
            Expression::TemplateExpr(template) => {
                for inner in template_expressions(template) {
                    self.collect_refs(&inner, found, seen_locals);
                }
            }
            Expression::FuncCall(call) => {
                for arg in &call.args {
                    self.collect_refs(arg, found, seen_locals);
                }
            }
            Expression::Parenthesis(inner) => self.collect_refs(inner, found, seen_locals),
            Expression::Conditional(cond) => {
                self.collect_refs(&cond.cond_expr, found, seen_locals);
                self.collect_refs(&cond.true_expr, found, seen_locals);
                self.collect_refs(&cond.false_expr, found, seen_locals);
            }
            Expression::Operation(operation) => match operation.as_ref() {
                hcl::expr::Operation::Unary(op) => self.collect_refs(&op.expr, found, seen_locals),
                hcl::expr::Operation::Binary(op) => {
                    self.collect_refs(&op.lhs_expr, found, seen_locals);
                    self.collect_refs(&op.rhs_expr, found, seen_locals);
                }
            },
            Expression::ForExpr(for_expr) => {
                self.collect_refs(&for_expr.collection_expr, found, seen_locals);
                if let Some(key) = &for_expr.key_expr {
                    self.collect_refs(key, found, seen_locals);
                }
                self.collect_refs(&for_expr.value_expr, found, seen_locals);
                if let Some(cond) = &for_expr.cond_expr {
                    self.collect_refs(cond, found, seen_locals);
                }
            }
            _ => {}
        }
    }

    fn traversal_root(&self, root: &Expression, operators: &[TraversalOperator]) -> Option<Root> {
        let Expression::Variable(variable) = root else {
            return None;
        };
        let names: Vec<&str> = operators
            .iter()
            .map_while(|op| match op {
                TraversalOperator::GetAttr(ident) => Some(ident.as_str()),
                _ => None,
            })
            .collect();
        match (variable.as_str(), names.as_slice()) {
            ("local", [name, ..]) => Some(Root::Local((*name).to_owned())),
            ("var", [name, ..]) => Some(Root::Other(format!("var.{name}"))),
            ("data", [ty, name, ..]) => Some(Root::Other(format!("data.{ty}.{name}"))),
            ("module", [name, ..]) => Some(Root::Other(format!("module.{name}"))),
            (ty, [name, ..]) if self.resources.contains_key(&format!("{ty}.{name}")) => {
                Some(Root::Other(format!("{ty}.{name}")))
            }
            _ => None,
        }
    }

    /// The keys an object-valued expression can produce, each with its value expression.
    /// Follows locals, `merge(...)`, `{ for k, v in X : k => v if ... }` (keys of X) and
    /// both branches of a conditional, so a key that is set only sometimes still counts.
    pub fn object_entries(&self, expr: &Expression) -> Result<Vec<(String, Expression)>, String> {
        let mut entries = Vec::new();
        self.collect_entries(expr, &mut entries, &mut BTreeSet::new())?;
        Ok(entries)
    }

    fn collect_entries(
        &self,
        expr: &Expression,
        entries: &mut Vec<(String, Expression)>,
        seen_locals: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        match expr {
            Expression::Object(object) => {
                for (key, value) in object {
                    let name = match key {
                        ObjectKey::Identifier(ident) => ident.as_str().to_owned(),
                        ObjectKey::Expression(key) => literal_string(key).ok_or_else(|| {
                            format!("an object key is computed ({key}); write it literally")
                        })?,
                        other => return Err(format!("unsupported object key {other}")),
                    };
                    entries.push((name, value.clone()));
                }
                Ok(())
            }
            Expression::Traversal(traversal) => {
                match self.traversal_root(&traversal.expr, &traversal.operators) {
                    Some(Root::Local(name)) if traversal.operators.len() == 1 => {
                        if !seen_locals.insert(name.clone()) {
                            return Err(format!("local.{name} refers to itself"));
                        }
                        let value = self
                            .locals
                            .get(&name)
                            .ok_or_else(|| format!("local.{name} is not defined"))?;
                        self.collect_entries(value, entries, seen_locals)
                    }
                    _ => Err(format!(
                        "cannot list the keys of {expr}: use an object, a local, merge() or a for expression"
                    )),
                }
            }
            Expression::FuncCall(call) if call.name.name.as_str() == "merge" => {
                for arg in &call.args {
                    self.collect_entries(arg, entries, seen_locals)?;
                }
                Ok(())
            }
            Expression::ForExpr(for_expr) if for_expr.key_expr.is_some() => {
                self.collect_entries(&for_expr.collection_expr, entries, seen_locals)
            }
            Expression::Conditional(cond) => {
                self.collect_entries(&cond.true_expr, entries, seen_locals)?;
                self.collect_entries(&cond.false_expr, entries, seen_locals)
            }
            Expression::Parenthesis(inner) => self.collect_entries(inner, entries, seen_locals),
            Expression::Null => Ok(()),
            other => Err(format!("cannot list the keys of {other}")),
        }
    }

    /// The literal string an expression stands for: a string, a template made only of
    /// literals, a `var.` with a literal default or a `local.` with a literal value.
    pub fn static_string(&self, expr: &Expression) -> Option<String> {
        if let Some(text) = literal_string(expr) {
            return Some(text);
        }
        let Expression::Traversal(traversal) = expr else {
            return None;
        };
        if traversal.operators.len() != 1 {
            return None;
        }
        match self.traversal_root(&traversal.expr, &traversal.operators)? {
            Root::Local(name) => self.static_string(self.locals.get(&name)?),
            Root::Other(address) => {
                let name = address.strip_prefix("var.")?;
                self.static_string(self.variable_default(name)?)
            }
        }
    }
}

impl TfModule {
    /// A string expression with its statically known parts filled in and every other
    /// interpolation left as `${}`: `"${aws_dynamodb_table.alerts.arn}/index/${local.i}"`
    /// reads `${}/index/gsi1` when `local.i` is `"gsi1"`.
    pub fn render(&self, expr: &Expression) -> Option<String> {
        if let Some(text) = self.static_string(expr) {
            return Some(text);
        }
        match expr {
            Expression::TemplateExpr(template) => {
                let parsed = Template::from_expr(template).ok()?;
                let mut text = String::new();
                for element in parsed.elements() {
                    match element {
                        Element::Literal(literal) => text.push_str(literal),
                        Element::Interpolation(interpolation) => text.push_str(
                            &self
                                .static_string(&interpolation.expr)
                                .unwrap_or_else(|| "${}".to_owned()),
                        ),
                        Element::Directive(_) => text.push_str("${}"),
                    }
                }
                Some(text)
            }
            Expression::Traversal(_) => Some("${}".to_owned()),
            _ => None,
        }
    }
}

enum Root {
    Local(String),
    Other(String),
}

/// An attribute of a body.
pub fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|attribute| attribute.key() == key)
        .map(|attribute| attribute.expr())
}

/// The first nested block with that identifier.
pub fn block<'a>(body: &'a Body, identifier: &str) -> Option<&'a Block> {
    body.blocks().find(|b| b.identifier() == identifier)
}

/// Every nested block with that identifier.
pub fn blocks<'a>(body: &'a Body, identifier: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier() == identifier)
}

/// A string literal, or a template without interpolations, as plain text.
pub fn literal_string(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(text) => Some(text.clone()),
        Expression::TemplateExpr(template) => {
            let parsed = Template::from_expr(template).ok()?;
            let mut text = String::new();
            for element in parsed.elements() {
                match element {
                    Element::Literal(literal) => text.push_str(literal),
                    _ => return None,
                }
            }
            Some(text)
        }
        _ => None,
    }
}

/// An array of string literals.
pub fn literal_strings(expr: &Expression) -> Option<Vec<String>> {
    match expr {
        Expression::Array(items) => items.iter().map(literal_string).collect(),
        _ => None,
    }
}

/// A literal number.
pub fn literal_number(expr: &Expression) -> Option<f64> {
    match expr {
        Expression::Number(number) => number.as_f64(),
        _ => None,
    }
}

/// A literal boolean.
pub fn literal_bool(expr: &Expression) -> Option<bool> {
    match expr {
        Expression::Bool(value) => Some(*value),
        _ => None,
    }
}

/// The literal text of a string expression with every interpolation replaced by `${}`,
/// so `"${aws_cloudwatch_log_group.poll.arn}:*"` reads `${}:*`. `None` for non-strings.
pub fn template_shape(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(text) => Some(text.clone()),
        Expression::TemplateExpr(template) => {
            let parsed = Template::from_expr(template).ok()?;
            let mut shape = String::new();
            for element in parsed.elements() {
                match element {
                    Element::Literal(literal) => shape.push_str(literal),
                    _ => shape.push_str("${}"),
                }
            }
            Some(shape)
        }
        Expression::Traversal(_) => Some("${}".to_owned()),
        _ => None,
    }
}

/// Whether the expression is a traversal `root.attr1.attr2...` with exactly these names.
pub fn is_traversal(expr: &Expression, path: &[&str]) -> bool {
    let Expression::Traversal(traversal) = expr else {
        return false;
    };
    let Expression::Variable(root) = &traversal.expr else {
        return false;
    };
    let mut names = vec![root.as_str()];
    for operator in &traversal.operators {
        match operator {
            TraversalOperator::GetAttr(ident) => names.push(ident.as_str()),
            _ => return false,
        }
    }
    names == path
}

fn template_expressions(template: &TemplateExpr) -> Vec<Expression> {
    let mut found = Vec::new();
    if let Ok(parsed) = Template::from_expr(template) {
        collect_template_expressions(&parsed, &mut found);
    }
    found
}

fn collect_template_expressions(template: &Template, found: &mut Vec<Expression>) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(interpolation) => found.push(interpolation.expr.clone()),
            Element::Directive(directive) => match directive.as_ref() {
                Directive::If(if_directive) => {
                    found.push(if_directive.cond_expr.clone());
                    collect_template_expressions(&if_directive.true_template, found);
                    if let Some(other) = &if_directive.false_template {
                        collect_template_expressions(other, found);
                    }
                }
                Directive::For(for_directive) => {
                    found.push(for_directive.collection_expr.clone());
                    collect_template_expressions(&for_directive.template, found);
                }
            },
        }
    }
}
