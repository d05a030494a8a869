//! From a fetched JSON document to the declared fields a template sees: each read by its JSON
//! Pointer, made text, cut to its `max_chars`, and digested for the storage key. Nothing else
//! of the document goes further than this file.

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::DataError;
use crate::{config::Field, reason::Reason, remote_image::Decoded};

/// The declared fields' values for one id, in declaration (name) order.
#[derive(Debug, Clone)]
pub struct Data {
    /// What the template sees: text, and an image field's URL.
    values: Vec<(String, Arc<str>)>,
    /// What decides the key: the text, and an image field's URL (a skipped image is "",
    /// exactly like an absent one, which draws the same card).
    keyed: Vec<String>,
    /// The decoded image of each drawn image field, by its URL: handed to takumi as they are,
    /// so a render never decodes an avatar again.
    images: Vec<(Arc<str>, Arc<Decoded>)>,
}

impl Data {
    /// `(name, value)` pairs: `data.NAME` in the template.
    pub fn values(&self) -> &[(String, Arc<str>)] {
        &self.values
    }

    /// The decoded images of the image fields, by URL.
    pub fn images(&self) -> &[(Arc<str>, Arc<Decoded>)] {
        &self.images
    }

    /// Field `i` draws `image`, the picture at its URL.
    pub(super) fn draw(&mut self, i: usize, image: Arc<Decoded>) {
        if let Some(slot) = self.values.get(i) {
            self.images.push((Arc::clone(&slot.1), image));
        }
    }

    /// Field `i` (a broken image) is left empty, in the template and in the key.
    pub(super) fn skip(&mut self, i: usize) {
        if let (Some(slot), Some(keyed)) = (self.values.get_mut(i), self.keyed.get_mut(i)) {
            slot.1 = Arc::from("");
            keyed.clear();
        }
    }

    /// A short hex digest of every value, part of the storage key: an edited title is a new
    /// key, so it gets a new image without a purge.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for ((name, _), value) in self.values.iter().zip(&self.keyed) {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(value.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// The declared `fields` of `doc`; a required one that is absent, null, or not a scalar is a
/// [`Reason::DataMissingField`].
pub(super) fn extract(fields: &[Field], doc: &Value) -> Result<Data, DataError> {
    let mut values = Vec::with_capacity(fields.len());
    let mut keyed = Vec::with_capacity(fields.len());
    for f in fields {
        let text = match doc.pointer(&f.pointer) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            // Null, absent, or a list or object, which has no one way to be text.
            _ => None,
        };
        let text = match (text, f.required) {
            (Some(text), _) => text,
            (None, true) => {
                return Err(DataError::new(
                    Reason::DataMissingField,
                    format!(
                        "field {} ({}) is absent, null or not text",
                        f.name, f.pointer
                    ),
                ));
            }
            (None, false) => f.default.clone().unwrap_or_default(),
        };
        // An image URL is fetched whole or not at all; its data: URI replaces it later.
        let text = if f.image {
            text
        } else {
            cut(text, f.max_chars)
        };
        values.push((f.name.clone(), Arc::from(text.as_str())));
        keyed.push(text);
    }
    Ok(Data {
        values,
        keyed,
        images: Vec::new(),
    })
}

/// `text` in at most `max` characters, the last an ellipsis when it was cut.
fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some(_) => {
            let keep: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{keep}\u{2026}")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(name: &str, pointer: &str, required: bool, default: Option<&str>) -> Field {
        Field {
            name: name.into(),
            pointer: pointer.into(),
            required,
            max_chars: 10,
            default: default.map(Into::into),
            image: false,
        }
    }

    #[test]
    fn only_declared_fields_come_out_as_text() {
        let doc = json!({"title": "Hello", "views": 12, "author": {"name": "Ann"}, "secret": "x"});
        let fields = [
            field("author", "/author/name", true, None),
            field("title", "/title", true, None),
            field("views", "/views", false, None),
            field("tag", "/tags/0", false, Some("none")),
            field("missing", "/nope", false, None),
        ];
        let data = extract(&fields, &doc).unwrap();
        let values: Vec<(&str, &str)> = (data.values().iter())
            .map(|(k, v)| (k.as_str(), v.as_ref()))
            .collect();
        assert_eq!(
            values,
            [
                ("author", "Ann"),
                ("title", "Hello"),
                ("views", "12"),
                ("tag", "none"),
                ("missing", "")
            ]
        );
    }

    #[test]
    fn a_required_field_must_be_a_scalar() {
        for doc in [json!({}), json!({"title": null}), json!({"title": ["a"]})] {
            let e = extract(&[field("title", "/title", true, None)], &doc).unwrap_err();
            assert_eq!(e.reason, Reason::DataMissingField, "{doc}");
        }
    }

    #[test]
    fn long_values_are_cut_by_characters() {
        assert_eq!(cut("短い".into(), 10), "短い");
        assert_eq!(
            cut("ああああああああああああ".into(), 10).chars().count(),
            10
        );
        assert!(cut("0123456789abc".into(), 10).ends_with('\u{2026}'));
        assert_eq!(cut("0123456789".into(), 10), "0123456789");
    }

    #[test]
    fn the_digest_follows_the_values() {
        let f = [field("title", "/title", true, None)];
        let a = extract(&f, &json!({"title": "A"})).unwrap();
        let a2 = extract(&f, &json!({"title": "A", "other": 1})).unwrap();
        let b = extract(&f, &json!({"title": "B"})).unwrap();
        assert_eq!(a.digest(), a2.digest());
        assert_ne!(a.digest(), b.digest());
    }

    /// An image's key part is its URL; a skipped image keys like an absent one.
    #[test]
    fn images_key_by_url_and_a_skip_by_absence() {
        let f = [Field {
            image: true,
            ..field("avatar", "/avatar", false, None)
        }];
        let mut drawn = extract(&f, &json!({"avatar": "https://a.example/1.png"})).unwrap();
        let before = drawn.digest();
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;
        drawn.draw(0, Arc::new(crate::remote_image::decode(svg).unwrap()));
        assert_eq!(drawn.digest(), before);
        assert_eq!(&*drawn.values()[0].1, "https://a.example/1.png");
        assert_eq!(&*drawn.images()[0].0, "https://a.example/1.png");
        drawn.skip(0);
        let absent = extract(&f, &json!({})).unwrap();
        assert_eq!(drawn.digest(), absent.digest());
        assert_eq!(&*drawn.values()[0].1, "");
    }
}
