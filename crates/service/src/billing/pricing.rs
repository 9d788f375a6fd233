//! What tokens cost: a table of per-model prices (USD per million tokens) matched by the
//! longest model-name prefix, with defaults from Anthropic's published prices that the
//! operator overrides with `--model-prices`.

use crate::error::{AppError, AppResult};

/// Prices of one model family, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Input written to the prompt cache.
    pub cache_write: f64,
    /// Input read from the prompt cache.
    pub cache_read: f64,
}

/// The tokens of one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Uncached input tokens.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Input tokens written to the cache.
    pub cache_creation: i64,
    /// Input tokens read from the cache.
    pub cache_read: i64,
}

const fn p(input: f64, output: f64) -> Price {
    Price { input, output, cache_write: input * 1.25, cache_read: input * 0.1 }
}

/// Published prices (USD / MTok); `*` is what an unknown model is charged: the dearest,
/// so a model missing from the table can never be a way around a budget.
const DEFAULTS: &[(&str, Price)] = &[
    ("claude-opus-4-5", p(5.0, 25.0)),
    ("claude-opus-4-6", p(5.0, 25.0)),
    ("claude-opus-4", p(15.0, 75.0)),
    ("claude-3-opus", p(15.0, 75.0)),
    ("claude-sonnet-4", p(3.0, 15.0)),
    ("claude-3-7-sonnet", p(3.0, 15.0)),
    ("claude-3-5-sonnet", p(3.0, 15.0)),
    ("claude-haiku-4-5", p(1.0, 5.0)),
    ("claude-3-5-haiku", p(0.8, 4.0)),
    ("claude-3-haiku", p(0.25, 1.25)),
    ("*", p(15.0, 75.0)),
];

/// The price table in force.
#[derive(Debug, Clone)]
pub struct PriceTable {
    entries: Vec<(String, Price)>,
}

impl PriceTable {
    /// The defaults with `overrides` (`prefix=input,output[,cache-write,cache-read]`)
    /// applied; a malformed entry is an error at start-up, not a silent zero.
    pub fn new(overrides: &[String]) -> AppResult<Self> {
        let mut entries: Vec<(String, Price)> = DEFAULTS.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        for o in overrides.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            let (prefix, price) = parse(o)?;
            entries.retain(|(k, _)| *k != prefix);
            entries.push((prefix, price));
        }
        Ok(Self { entries })
    }

    /// The price of `model`: the longest matching prefix, else `*`.
    pub fn price(&self, model: &str) -> Price {
        let fallback = self.entries.iter().find(|(k, _)| k == "*").map(|(_, p)| *p).unwrap_or(p(15.0, 75.0));
        self.entries
            .iter()
            .filter(|(k, _)| k != "*" && model.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map_or(fallback, |(_, p)| *p)
    }

    /// The cost of `tokens` of `model` in millionths of a dollar (a price in USD per
    /// million tokens is exactly micro-dollars per token).
    pub fn cost_micros(&self, model: &str, t: &Tokens) -> i64 {
        let p = self.price(model);
        let c = t.input as f64 * p.input
            + t.output as f64 * p.output
            + t.cache_creation as f64 * p.cache_write
            + t.cache_read as f64 * p.cache_read;
        c.round() as i64
    }
}

fn parse(entry: &str) -> AppResult<(String, Price)> {
    let bad =
        || AppError::bad_input(format!("model price `{entry}`: expected prefix=input,output[,cache-write,cache-read]"));
    let (prefix, nums) = entry.split_once('=').ok_or_else(bad)?;
    let n: Vec<f64> = nums.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    if prefix.trim().is_empty() || n.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(bad());
    }
    let price = match n[..] {
        [i, o] => p(i, o),
        [i, o, w, r] => Price { input: i, output: o, cache_write: w, cache_read: r },
        _ => return Err(bad()),
    };
    Ok((prefix.trim().to_string(), price))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins_and_unknown_models_pay_the_most() {
        let t = PriceTable::new(&[]).unwrap();
        assert_eq!(t.price("claude-opus-4-5-20251101").input, 5.0);
        assert_eq!(t.price("claude-opus-4-1-20250805").input, 15.0);
        assert_eq!(t.price("claude-sonnet-4-5-20250929").output, 15.0);
        assert_eq!(t.price("gpt-whatever").output, 75.0);
    }

    #[test]
    fn costs_are_micro_dollars() {
        let t = PriceTable::new(&["fake=2,10,3,0.5".into()]).unwrap();
        let tokens = Tokens { input: 1000, output: 100, cache_creation: 10, cache_read: 1000 };
        // 1000*2 + 100*10 + 10*3 + 1000*0.5 = 3530 µ$
        assert_eq!(t.cost_micros("fake-model", &tokens), 3530);
    }

    #[test]
    fn overrides_replace_defaults_and_bad_ones_are_refused() {
        let t = PriceTable::new(&["*=1,1".into(), "claude-sonnet-4=4,20".into()]).unwrap();
        assert_eq!(t.price("unknown").input, 1.0);
        assert_eq!(t.price("claude-sonnet-4-5").cache_write, 5.0);
        for bad in ["x", "x=1", "x=a,b", "=1,2", "x=1,2,3", "x=-1,2"] {
            assert!(PriceTable::new(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
