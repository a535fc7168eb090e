"""Entity and number pools the template grammar draws from.

Wide pools are what keep template headlines from collapsing into near-duplicates: MiniLM sees two
headlines that differ only in a number as the same sentence (cosine ~0.99), but a different company,
broker or wording moves it well below the 0.9 dedup threshold. Real company and broker names carry
the vocabulary of real wire copy; the synthetic names (built from word parts) stop the model from
learning "this ticker means this class".
"""

from __future__ import annotations

import random

# (name, ticker, sector) — well-known listed companies, so headlines read like real wire copy.
REAL_COMPANIES: tuple[tuple[str, str, str], ...] = (
    ("Apple", "AAPL", "tech"), ("Microsoft", "MSFT", "tech"), ("Nvidia", "NVDA", "semis"),
    ("Alphabet", "GOOGL", "tech"), ("Amazon", "AMZN", "retail"), ("Meta Platforms", "META", "tech"),
    ("Tesla", "TSLA", "auto"), ("Broadcom", "AVGO", "semis"), ("Oracle", "ORCL", "tech"),
    ("Salesforce", "CRM", "tech"), ("Adobe", "ADBE", "tech"), ("Intel", "INTC", "semis"),
    ("Advanced Micro Devices", "AMD", "semis"), ("Qualcomm", "QCOM", "semis"), ("Micron Technology", "MU", "semis"),
    ("Texas Instruments", "TXN", "semis"), ("Cisco Systems", "CSCO", "tech"), ("IBM", "IBM", "tech"),
    ("Netflix", "NFLX", "media"), ("Walt Disney", "DIS", "media"), ("Comcast", "CMCSA", "media"),
    ("Warner Bros. Discovery", "WBD", "media"), ("Paramount Global", "PARA", "media"), ("Spotify", "SPOT", "media"),
    ("JPMorgan Chase", "JPM", "bank"), ("Bank of America", "BAC", "bank"), ("Wells Fargo", "WFC", "bank"),
    ("Citigroup", "C", "bank"), ("Goldman Sachs Group", "GS", "bank"), ("Morgan Stanley", "MS", "bank"),
    ("U.S. Bancorp", "USB", "bank"), ("Truist Financial", "TFC", "bank"), ("Charles Schwab", "SCHW", "bank"),
    ("BlackRock", "BLK", "bank"), ("American Express", "AXP", "bank"), ("Visa", "V", "bank"),
    ("Mastercard", "MA", "bank"), ("PayPal", "PYPL", "tech"), ("Block", "SQ", "tech"),
    ("Exxon Mobil", "XOM", "energy"), ("Chevron", "CVX", "energy"), ("ConocoPhillips", "COP", "energy"),
    ("Occidental Petroleum", "OXY", "energy"), ("Schlumberger", "SLB", "energy"), ("Halliburton", "HAL", "energy"),
    ("Devon Energy", "DVN", "energy"), ("Marathon Petroleum", "MPC", "energy"), ("Valero Energy", "VLO", "energy"),
    ("Pfizer", "PFE", "pharma"), ("Johnson & Johnson", "JNJ", "pharma"), ("Merck", "MRK", "pharma"),
    ("AbbVie", "ABBV", "pharma"), ("Eli Lilly", "LLY", "pharma"), ("Bristol-Myers Squibb", "BMY", "pharma"),
    ("Amgen", "AMGN", "pharma"), ("Gilead Sciences", "GILD", "pharma"), ("Moderna", "MRNA", "pharma"),
    ("Regeneron", "REGN", "pharma"), ("Vertex Pharmaceuticals", "VRTX", "pharma"), ("Biogen", "BIIB", "pharma"),
    ("Medtronic", "MDT", "medtech"), ("Abbott Laboratories", "ABT", "medtech"), ("Boston Scientific", "BSX", "medtech"),
    ("Intuitive Surgical", "ISRG", "medtech"), ("Stryker", "SYK", "medtech"), ("Dexcom", "DXCM", "medtech"),
    ("UnitedHealth Group", "UNH", "health"), ("CVS Health", "CVS", "health"), ("Humana", "HUM", "health"),
    ("Walmart", "WMT", "retail"), ("Target", "TGT", "retail"), ("Costco", "COST", "retail"),
    ("Home Depot", "HD", "retail"), ("Lowe's", "LOW", "retail"), ("Nike", "NKE", "retail"),
    ("Starbucks", "SBUX", "restaurants"), ("McDonald's", "MCD", "restaurants"), ("Chipotle Mexican Grill", "CMG", "restaurants"),
    ("Coca-Cola", "KO", "staples"), ("PepsiCo", "PEP", "staples"), ("Procter & Gamble", "PG", "staples"),
    ("Kraft Heinz", "KHC", "staples"), ("Mondelez", "MDLZ", "staples"), ("Colgate-Palmolive", "CL", "staples"),
    ("Boeing", "BA", "aero"), ("Lockheed Martin", "LMT", "aero"), ("RTX", "RTX", "aero"),
    ("General Dynamics", "GD", "aero"), ("Northrop Grumman", "NOC", "aero"), ("General Electric", "GE", "industrial"),
    ("Caterpillar", "CAT", "industrial"), ("Deere & Co", "DE", "industrial"), ("3M", "MMM", "industrial"),
    ("Honeywell", "HON", "industrial"), ("Union Pacific", "UNP", "rail"), ("FedEx", "FDX", "transport"),
    ("United Parcel Service", "UPS", "transport"), ("Delta Air Lines", "DAL", "airline"), ("United Airlines", "UAL", "airline"),
    ("American Airlines", "AAL", "airline"), ("Southwest Airlines", "LUV", "airline"), ("Ford Motor", "F", "auto"),
    ("General Motors", "GM", "auto"), ("Stellantis", "STLA", "auto"), ("Rivian Automotive", "RIVN", "auto"),
    ("Lucid Group", "LCID", "auto"), ("Uber Technologies", "UBER", "tech"), ("Lyft", "LYFT", "tech"),
    ("Airbnb", "ABNB", "travel"), ("Booking Holdings", "BKNG", "travel"), ("Marriott International", "MAR", "travel"),
    ("AT&T", "T", "telecom"), ("Verizon Communications", "VZ", "telecom"), ("T-Mobile US", "TMUS", "telecom"),
    ("NextEra Energy", "NEE", "utility"), ("Duke Energy", "DUK", "utility"), ("Southern Co", "SO", "utility"),
    ("Dominion Energy", "D", "utility"), ("Pacific Gas and Electric", "PCG", "utility"), ("Snowflake", "SNOW", "tech"),
    ("Palantir Technologies", "PLTR", "tech"), ("ServiceNow", "NOW", "tech"), ("Workday", "WDAY", "tech"),
    ("CrowdStrike", "CRWD", "tech"), ("Palo Alto Networks", "PANW", "tech"), ("Shopify", "SHOP", "tech"),
    ("Zoom Video", "ZM", "tech"), ("Dell Technologies", "DELL", "tech"), ("HP Inc", "HPQ", "tech"),
    ("Super Micro Computer", "SMCI", "tech"), ("Arm Holdings", "ARM", "semis"), ("Marvell Technology", "MRVL", "semis"),
    ("Applied Materials", "AMAT", "semis"), ("Lam Research", "LRCX", "semis"), ("ASML Holding", "ASML", "semis"),
    ("Taiwan Semiconductor", "TSM", "semis"), ("Samsung Electronics", "005930.KS", "semis"), ("Sony Group", "SONY", "tech"),
    ("Toyota Motor", "TM", "auto"), ("Volkswagen", "VOW3.DE", "auto"), ("BMW", "BMW.DE", "auto"),
    ("Siemens", "SIE.DE", "industrial"), ("SAP", "SAP", "tech"), ("Nestle", "NESN.S", "staples"),
    ("Unilever", "ULVR.L", "staples"), ("HSBC Holdings", "HSBA.L", "bank"), ("Barclays", "BARC.L", "bank"),
    ("BP", "BP", "energy"), ("Shell", "SHEL", "energy"), ("TotalEnergies", "TTE", "energy"),
    ("AstraZeneca", "AZN", "pharma"), ("Novartis", "NVS", "pharma"), ("Novo Nordisk", "NVO", "pharma"),
    ("Roche", "ROG.S", "pharma"), ("Sanofi", "SNY", "pharma"), ("GSK", "GSK", "pharma"),
    ("Rio Tinto", "RIO", "mining"), ("BHP Group", "BHP", "mining"), ("Freeport-McMoRan", "FCX", "mining"),
    ("Newmont", "NEM", "mining"), ("Alcoa", "AA", "mining"), ("Nucor", "NUE", "industrial"),
    ("Carnival", "CCL", "travel"), ("Royal Caribbean", "RCL", "travel"), ("Expedia", "EXPE", "travel"),
    ("Kroger", "KR", "retail"), ("Dollar General", "DG", "retail"), ("Best Buy", "BBY", "retail"),
    ("Macy's", "M", "retail"), ("Gap", "GAP", "retail"), ("Lululemon Athletica", "LULU", "retail"),
    ("Estee Lauder", "EL", "staples"), ("Hershey", "HSY", "staples"), ("General Mills", "GIS", "staples"),
    ("Tyson Foods", "TSN", "staples"), ("Archer-Daniels-Midland", "ADM", "staples"), ("Altria", "MO", "staples"),
    ("Philip Morris", "PM", "staples"), ("Constellation Brands", "STZ", "staples"), ("Anheuser-Busch InBev", "BUD", "staples"),
    ("Prologis", "PLD", "reit"), ("Simon Property Group", "SPG", "reit"), ("Realty Income", "O", "reit"),
    ("American Tower", "AMT", "reit"), ("Equinix", "EQIX", "reit"), ("Welltower", "WELL", "reit"),
    ("MetLife", "MET", "insurance"), ("Prudential Financial", "PRU", "insurance"), ("AIG", "AIG", "insurance"),
    ("Chubb", "CB", "insurance"), ("Progressive", "PGR", "insurance"), ("Allstate", "ALL", "insurance"),
    ("Coinbase Global", "COIN", "tech"), ("Robinhood Markets", "HOOD", "tech"), ("DoorDash", "DASH", "tech"),
    ("Etsy", "ETSY", "retail"), ("eBay", "EBAY", "retail"), ("Peloton Interactive", "PTON", "retail"),
    ("Beyond Meat", "BYND", "staples"), ("GameStop", "GME", "retail"), ("AMC Entertainment", "AMC", "media"),
    ("Plug Power", "PLUG", "energy"), ("First Solar", "FSLR", "energy"), ("Enphase Energy", "ENPH", "energy"),
    ("Vistra", "VST", "utility"), ("Constellation Energy", "CEG", "utility"), ("Baker Hughes", "BKR", "energy"),
)

_PREFIX = (
    "North", "South", "East", "West", "Blue", "Red", "Silver", "Golden", "Iron", "Clear", "Bright", "Summit",
    "Harbor", "River", "Lake", "Pine", "Oak", "Cedar", "Maple", "Granite", "Crystal", "Eagle", "Falcon", "Hawk",
    "Pioneer", "Frontier", "Liberty", "Heritage", "Atlas", "Apex", "Vertex", "Zenith", "Nova", "Stellar", "Orbit",
    "Quantum", "Vector", "Vanguard", "Keystone", "Cornerstone", "Landmark", "Sterling", "Crescent", "Meridian",
    "Horizon", "Evergreen", "Redwood", "Sequoia", "Aspen", "Willow", "Coastal", "Prairie", "Canyon", "Mesa",
)
_SUFFIX = ("bridge", "point", "gate", "field", "wood", "stone", "view", "crest", "ridge", "way", "star", "line",
           "wave", "peak", "port", "works", "tech", "gen", "core", "logic")
_SECTOR_WORDS = {
    "pharma": ("Therapeutics", "Biosciences", "Pharmaceuticals", "Bio", "Oncology", "Medicines"),
    "tech": ("Software", "Systems", "Technologies", "Networks", "Digital", "Data", "Cloud"),
    "semis": ("Semiconductor", "Micro", "Devices", "Photonics"),
    "energy": ("Energy", "Petroleum", "Resources", "Oil & Gas", "Midstream", "Solar"),
    "bank": ("Bancorp", "Financial", "Bank", "Capital", "Bancshares", "Trust"),
    "industrial": ("Industries", "Manufacturing", "Engineering", "Machinery"),
    "retail": ("Brands", "Stores", "Retail", "Outfitters", "Apparel"),
    "mining": ("Mining", "Metals", "Gold", "Lithium", "Minerals"),
    "medtech": ("Medical", "Surgical", "Diagnostics", "Health Devices"),
    "reit": ("Realty", "Properties", "REIT", "Real Estate"),
    "utility": ("Power", "Utilities", "Electric", "Water"),
    "aero": ("Aerospace", "Defense", "Aviation"),
    "staples": ("Foods", "Beverages", "Consumer Products"),
    "insurance": ("Insurance", "Assurance", "Re"),
}
_FORMS = ("Inc", "Corp", "Holdings", "Group", "Co", "Ltd", "plc", "", "", "", "")

BROKERS = (
    "Goldman Sachs", "Morgan Stanley", "JPMorgan", "J.P. Morgan", "BofA Securities", "Bank of America", "Citi",
    "Citigroup", "Wells Fargo", "Barclays", "Deutsche Bank", "UBS", "Credit Suisse", "Jefferies", "Evercore ISI",
    "Bernstein", "Raymond James", "RBC Capital", "TD Cowen", "Cowen", "Piper Sandler", "Stifel", "KeyBanc",
    "Oppenheimer", "Needham", "Mizuho", "Truist Securities", "BMO Capital", "Baird", "Wedbush", "Canaccord Genuity",
    "Benchmark", "Loop Capital", "Rosenblatt", "Susquehanna", "Morningstar", "HSBC", "BNP Paribas Exane",
    "Macquarie", "Guggenheim", "Wolfe Research", "Bernstein SocGen", "Argus", "CFRA", "DA Davidson",
    "Northland Capital", "Craig-Hallum", "HC Wainwright", "Ladenburg Thalmann", "Roth MKM", "B. Riley",
    "Jefferies Financial", "Scotiabank", "CIBC", "Berenberg", "Redburn Atlantic", "Kepler Cheuvreux",
    "Societe Generale", "Nomura", "Daiwa", "Citizens JMP", "Leerink Partners", "William Blair", "Telsey Advisory",
)

# Recommendation tiers: 0 = sell, 1 = hold, 2 = buy. A change of tier is an upgrade/downgrade.
RATINGS = {
    0: ("Sell", "Underperform", "Underweight", "Reduce", "Strong Sell", "Sector Underperform"),
    1: ("Hold", "Neutral", "Equal-Weight", "Market Perform", "Sector Perform", "Peer Perform", "In-Line", "Sector Weight"),
    2: ("Buy", "Overweight", "Outperform", "Strong Buy", "Accumulate", "Sector Outperform", "Conviction Buy"),
}

AGENCIES = ("Moody's", "S&P Global Ratings", "S&P", "Fitch Ratings", "Fitch", "DBRS Morningstar", "KBRA")
MOODYS_SCALE = ("Aaa", "Aa1", "Aa2", "Aa3", "A1", "A2", "A3", "Baa1", "Baa2", "Baa3", "Ba1", "Ba2", "Ba3",
                "B1", "B2", "B3", "Caa1", "Caa2")
SP_SCALE = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B", "B-",
            "CCC+", "CCC")

REGULATORS = ("SEC", "Justice Department", "DOJ", "FTC", "CFTC", "European Commission", "EU antitrust regulators",
              "UK's CMA", "FCA", "New York attorney general", "Texas attorney general", "CFPB", "Federal Reserve",
              "OCC", "NHTSA", "EPA", "Department of Labor", "China's SAMR", "German prosecutors", "French regulators")
APPROVERS = ("FDA", "U.S. FDA", "EMA", "European Commission", "Health Canada", "Japan's PMDA", "UK MHRA",
             "China's NMPA", "FAA", "FCC")
UNIONS = ("United Auto Workers", "UAW", "Teamsters", "IAM union", "machinists", "SAG-AFTRA", "Unite union",
          "IG Metall", "nurses' union", "dockworkers", "pilots' union", "flight attendants", "Verdi union",
          "CWA", "hotel workers", "rail workers")
EXEC_ROLES = ("CEO", "CFO", "chief executive", "chief financial officer", "chairman", "COO", "president",
              "chief technology officer", "CTO", "chief operating officer", "general counsel", "chair")
FIRST = ("John", "Mary", "David", "Sarah", "Michael", "Laura", "James", "Anna", "Robert", "Lisa", "Thomas", "Karen",
         "Daniel", "Emily", "Mark", "Susan", "Paul", "Jennifer", "Andrew", "Maria", "Peter", "Linda", "Richard",
         "Rachel", "Kevin", "Julia", "Brian", "Nicole", "Carlos", "Priya", "Wei", "Hiroshi", "Ahmed", "Sofia")
LAST = ("Smith", "Johnson", "Lee", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Martinez", "Anderson", "Taylor",
        "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
        "Wright", "Lopez", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Patel", "Chen",
        "Kim", "Nakamura", "Schmidt", "Rossi", "Dubois", "Okafor", "Singh")
PRODUCTS = {
    "pharma": ("cancer drug", "obesity drug", "Alzheimer's treatment", "RSV vaccine", "gene therapy",
               "psoriasis drug", "migraine treatment", "heart failure drug", "sickle cell therapy", "lupus drug"),
    "medtech": ("heart valve", "glucose monitor", "surgical robot", "insulin pump", "diagnostic test",
                "spinal implant", "stent"),
    "tech": ("AI assistant", "cloud platform", "security suite", "chatbot", "smartphone", "laptop line",
             "subscription service", "analytics tool", "VR headset", "payments app"),
    "semis": ("AI chip", "data-center GPU", "5G modem", "memory chip", "networking chip", "processor"),
    "auto": ("electric SUV", "pickup truck", "EV model", "self-driving software", "hybrid sedan", "robotaxi service"),
    "aero": ("jetliner", "fighter jet", "engine", "drone system", "satellite"),
    "default": ("product line", "service", "platform", "app", "device", "brand", "store format", "loyalty program"),
}
EXCHANGES = ("NASDAQ", "NYSE", "NYSEAMERICAN", "OTC", "NYSE Arca", "TSX")
CITIES = ("New York", "London", "Frankfurt", "Tokyo", "Hong Kong", "Paris", "Chicago", "Detroit", "Seattle",
          "Toronto", "Sydney", "Singapore", "Zurich", "Mumbai", "Shanghai", "Seoul")
SOURCES = ("Reuters", "Bloomberg", "WSJ", "CNBC", "Dow Jones", "FT", "Benzinga", "MarketWatch", "Barron's",
           "Investing.com", "Seeking Alpha", "Yahoo Finance", "Nikkei", "Handelsblatt")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


# "Meta Platforms" may be called "Meta", but "Texas Instruments" is never "Texas".
_CORPORATE_WORDS = {"Platforms", "Systems", "Motor", "Technologies", "Group", "Holdings", "Global", "Sciences",
                    "Laboratories", "Communications", "Financial", "Pharmaceuticals", "Mobil", "Interactive",
                    "Automotive", "Video", "Markets", "Inc", "Corp", "Co", "Energy", "Petroleum", "Bancorp"}


class Company:
    """A company as a headline refers to it: full name, short name or ticker, chosen per headline."""

    def __init__(self, name: str, ticker: str, sector: str):
        self.name, self.ticker, self.sector = name, ticker, sector

    def ref(self, rng: random.Random) -> str:
        if rng.random() < 0.25:
            return self.wire(rng)
        r = rng.random()
        if r < 0.45:
            return self.name
        if r < 0.6:
            return self.ticker if "." not in self.ticker else self.name
        if r < 0.72:
            return f"{self.name} ({self.ticker})"
        if r < 0.8:
            return f"${self.ticker}" if "." not in self.ticker else self.name
        if r < 0.9 and len(self.name.split()) == 2 and self.name.split()[1] in _CORPORATE_WORDS \
                and not self.name.split()[0].endswith("."):
            return self.name.split()[0]
        return f"{self.name} {rng.choice(('Inc', 'Corp', 'Inc.', 'Corp.'))}" if len(self.name.split()) < 3 else self.name

    def wire(self, rng: random.Random) -> str:
        """The long legal names and exchange tags of wire and aggregator feeds: 'Acme Corporation',
        'Acme, Inc. Common Stock', 'Acme Inc. (NASDAQ:ACME)'."""
        base = self.name
        if base.split()[-1] not in ("Inc", "Corp", "Co", "Ltd", "plc", "Group", "Holdings"):
            base = f"{base}{rng.choice((' Inc.', ', Inc.', ' Corporation', ' Corp.', ' Holdings, Inc.', ' Co.', ' Ltd.'))}"
        elif base.endswith((" Inc", " Corp", " Co", " Ltd")):
            base += "."
        tag = "." not in self.ticker
        r = rng.random()
        if r < 0.3 and tag:
            return f"{base} ({rng.choice(EXCHANGES)}:{self.ticker})"
        if r < 0.55 and tag:
            return f"{base} ({self.ticker})"
        if r < 0.63:
            return f"{base} Common Stock"
        return base

    def product(self, rng: random.Random) -> str:
        return rng.choice(PRODUCTS.get(self.sector, PRODUCTS["default"]))


def synthetic_company(rng: random.Random) -> Company:
    sector = rng.choice(tuple(_SECTOR_WORDS))
    stem = rng.choice(_PREFIX) + (rng.choice(_SUFFIX) if rng.random() < 0.6 else "")
    word = rng.choice(_SECTOR_WORDS[sector])
    form = rng.choice(_FORMS)
    name = " ".join(p for p in (stem, word, form) if p)
    letters = [c for c in (stem + word).upper() if c.isalpha()]
    ticker = "".join(rng.sample(letters[:8], k=min(len(letters[:8]), rng.choice((3, 4, 4)))))
    return Company(name, ticker, sector)


def company(rng: random.Random, synthetic_share: float = 0.4) -> Company:
    if rng.random() < synthetic_share:
        return synthetic_company(rng)
    return Company(*rng.choice(REAL_COMPANIES))


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def money(rng: random.Random, lo: float, hi: float, decimals: int = 2) -> float:
    return round(rng.uniform(lo, hi), decimals)


def big_money(rng: random.Random) -> str:
    """A deal/contract size like '$1.2 billion', '$450M', '€3bn'."""
    if rng.random() < 0.5:
        v = rng.choice((round(rng.uniform(1, 95), 1), rng.randint(1, 60)))
        unit = rng.choice((" billion", "B", "bn", " billion"))
    else:
        v = rng.choice((rng.randint(10, 990), rng.randint(2, 99) * 5))
        unit = rng.choice((" million", "M", "mln", " million"))
    cur = rng.choice(("$", "$", "$", "€", "£", "$"))
    return f"{cur}{v}{unit}"


def quarter(rng: random.Random) -> tuple[str, str]:
    """(short, long) quarter names: ('Q3', 'third-quarter')."""
    q = rng.randint(1, 4)
    year = rng.randint(2018, 2026)
    short = rng.choice((f"Q{q}", f"Q{q} {year}", f"Q{q}/{str(year)[2:]}", f"FQ{q}", f"Q{q} FY{str(year)[2:]}"))
    long = rng.choice((("first", "second", "third", "fourth")[q - 1] + "-quarter",
                       ("first", "second", "third", "fourth")[q - 1] + " quarter", f"Q{q}", "quarterly"))
    return short, long


def fiscal_year(rng: random.Random) -> str:
    y = rng.randint(2019, 2027)
    return rng.choice((f"FY{y}", f"FY{str(y)[2:]}", f"{y}", f"fiscal {y}", "full-year", "annual", "FY"))
