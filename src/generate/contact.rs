//! Contact columns of a generated customer: a fictional postal address in the
//! country's format, a contact name, the language, and which customers have
//! no e-mail address. Drawn from a hash of the customer's index, not the
//! simulation's dice, so the rest of a generated ledger is the same as
//! before these columns existed.

/// The contact columns of one customer.
pub struct Contact {
    pub email: bool,
    pub contact_name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: &'static str,
    pub language: &'static str,
}

#[rustfmt::skip]
const STREETS: [&str; 16] = [
    "Oak", "Maple", "Market", "Station", "Church", "Mill", "River", "Park", "High", "King", "Bridge", "Garden",
    "Harbour", "Castle", "Meadow", "Victoria",
];
#[rustfmt::skip]
const FIRST: [&str; 16] = [
    "Alex", "Sam", "Robin", "Kim", "Jordan", "Maria", "Jan", "Claire", "Lena", "Tom", "Nadia", "Paul", "Sofia",
    "Luc", "Anna", "Max",
];
#[rustfmt::skip]
const LAST: [&str; 16] = [
    "Miller", "Brown", "Wagner", "Martin", "Taylor", "Richter", "Petit", "Evans", "Klein", "Roux", "Walker",
    "Hoffmann", "Lefebvre", "Wright", "Braun", "Girard",
];
const US_CITIES: [(&str, &str); 6] = [
    ("Springfield, IL", "627"),
    ("Portland, OR", "972"),
    ("Columbus, OH", "432"),
    ("Austin, TX", "787"),
    ("Madison, WI", "537"),
    ("Denver, CO", "802"),
];
const GB_CITIES: [(&str, &str); 6] =
    [("London", "EC1A"), ("Leeds", "LS1"), ("Bristol", "BS1"), ("York", "YO1"), ("Bath", "BA1"), ("Derby", "DE1")];
const DE_CITIES: [(&str, &str); 6] =
    [("Berlin", "10"), ("Hamburg", "20"), ("München", "80"), ("Köln", "50"), ("Leipzig", "04"), ("Bremen", "28")];
const FR_CITIES: [(&str, &str); 6] =
    [("Paris", "75"), ("Lyon", "69"), ("Nantes", "44"), ("Lille", "59"), ("Bordeaux", "33"), ("Toulouse", "31")];

/// A well-mixed 64-bit hash of `x` (splitmix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The contact columns of customer `index` in `country` (an ISO code).
pub fn contact(index: u64, country: &str) -> Contact {
    let h = mix(index ^ 0x636f_6e74_6163_7400);
    let pick = |shift: u32, n: usize| ((h >> shift) % n as u64) as usize;
    let number = 1 + (h >> 40) % 180;
    let street = STREETS[pick(0, STREETS.len())];
    let contact_name = format!("{} {}", FIRST[pick(4, FIRST.len())], LAST[pick(8, LAST.len())]);
    let digits = (h >> 16) % 1000;
    let (line1, city, postcode, language) = match country {
        "DE" => {
            let (city, pre) = DE_CITIES[pick(12, 6)];
            (format!("{street}straße {number}"), city, format!("{pre}{digits:03}"), "de")
        }
        "FR" => {
            let (city, pre) = FR_CITIES[pick(12, 6)];
            (format!("{number} rue du {street}"), city, format!("{pre}{digits:03}"), "fr")
        }
        "GB" => {
            let (city, pre) = GB_CITIES[pick(12, 6)];
            let unit = (b'A' + (digits % 26) as u8) as char;
            (format!("{number} {street} Street"), city, format!("{pre} {}{unit}B", digits % 10), "en")
        }
        _ => {
            let (city, pre) = US_CITIES[pick(12, 6)];
            (format!("{number} {street} Street"), city, format!("{pre}{:02}", digits % 100), "en")
        }
    };
    Contact {
        // About one customer in 25 has no e-mail address on file.
        email: !(h >> 24).is_multiple_of(25),
        contact_name,
        address_line1: line1,
        address_line2: (h >> 32).is_multiple_of(5).then(|| format!("Suite {}", 100 + (h >> 48) % 400)),
        postcode,
        city,
        language,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_country() {
        let de = contact(3, "DE");
        assert!(de.address_line1.contains("straße"), "{}", de.address_line1);
        assert_eq!((de.postcode.len(), de.language), (5, "de"));
        let us = contact(3, "US");
        assert!(us.city.contains(", "), "{}", us.city);
        assert_eq!((us.postcode.len(), us.language), (5, "en"));
        assert_eq!(contact(3, "FR").language, "fr");
    }

    #[test]
    fn some_customers_have_no_email() {
        let without = (0..10_000).filter(|&i| !contact(i, "US").email).count();
        assert!((250..550).contains(&without), "{without} of 10000 without e-mail");
    }
}
