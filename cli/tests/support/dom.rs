//! Reading the serialized DOM: enough to find an element by id or content and read its
//! attributes and text, which is all the assertions need.

/// The start tag (`<tag ...>`) that contains `needle`.
pub fn tag_around<'a>(dom: &'a str, needle: &str) -> &'a str {
    let at = dom
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the DOM"));
    let start = dom[..=at].rfind('<').unwrap();
    let end = at + dom[at..].find('>').unwrap();
    &dom[start..=end]
}

/// The value of `name` in the start tag of the element with this id.
pub fn attribute(dom: &str, id: &str, name: &str) -> String {
    let tag = tag_around(dom, &format!("id=\"{id}\""));
    let key = format!(" {name}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    let end = start + tag[start..].find('"').unwrap();
    tag[start..end].to_owned()
}

/// The text right after the start tag of the element with this id (up to the next tag).
pub fn text(dom: &str, id: &str) -> String {
    let needle = format!("id=\"{id}\"");
    let at = dom
        .find(&needle)
        .unwrap_or_else(|| panic!("{needle} not in the DOM"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let end = start + dom[start..].find('<').unwrap();
    dom[start..end].to_owned()
}

/// The rows the page put in the document, as (class attribute, name text).
pub fn rows(dom: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find("<div class=\"row ") {
        rest = &rest[at..];
        let class_start = "<div class=\"".len();
        let class_end = class_start + rest[class_start..].find('"').unwrap();
        let class = rest[class_start..class_end].to_owned();
        let name_open = "<span class=\"name\">";
        let name_start = rest.find(name_open).unwrap() + name_open.len();
        let name_end = name_start + rest[name_start..].find('<').unwrap();
        rows.push((class, rest[name_start..name_end].to_owned()));
        rest = &rest[class_end..];
    }
    rows
}

/// Every value of `src=`, `href=`, `action=` and CSS `url(...)` in an HTML text.
pub fn resource_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for key in [" src=", " href=", " action=", " srcset=", "url("] {
        let mut rest = html;
        while let Some(at) = rest.find(key) {
            rest = &rest[at + key.len()..];
            let end = rest
                .find(|c: char| c == '>' || c == ')' || c.is_whitespace())
                .unwrap_or(rest.len());
            found.push(rest[..end].to_owned());
        }
    }
    found
}

/// The labels of the time axis, left to right.
pub fn axis_labels(dom: &str) -> Vec<String> {
    let start = dom.find("id=\"ticks\"").unwrap();
    let end = start + dom[start..].find("id=\"canvas\"").unwrap();
    dom[start..end]
        .split("<span>")
        .skip(1)
        .map(|part| part[..part.find('<').unwrap()].to_owned())
        .collect()
}
