"""Source snippets, error messages and diffs that coding prompts paste in.

Snippets are skeletons filled with identifiers drawn per call, so pasted code
differs between users the way real code does while staying plausible.
"""

from __future__ import annotations

import random
from string import Template

LANGUAGES = (
    "python",
    "javascript",
    "typescript",
    "go",
    "rust",
    "java",
    "sql",
    "bash",
    "c++",
    "c#",
    "ruby",
    "php",
    "kotlin",
)
LANGUAGE_WEIGHTS = (30, 16, 12, 8, 6, 8, 9, 4, 3, 3, 1, 2, 1)
DISPLAY = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "sql": "SQL",
    "bash": "bash",
    "c++": "C++",
    "c#": "C#",
    "ruby": "Ruby",
    "php": "PHP",
    "kotlin": "Kotlin",
}
FENCE = {"c++": "cpp", "c#": "csharp"}

TASKS = (
    "parse a CSV file and return the average of one column",
    "debounce another function",
    "read a large file line by line without loading it all",
    "merge two sorted lists",
    "validate an email address",
    "retry an HTTP request with exponential backoff",
    "implement an LRU cache",
    "convert a unix timestamp to an ISO 8601 string",
    "flatten a nested dictionary",
    "find duplicate rows in a table",
    "implement a token bucket rate limiter",
    "do binary search on a sorted array",
    "paginate through a REST API",
    "upload a file to S3",
    "parse command line arguments",
    "reverse a linked list",
    "check if a string is a palindrome",
    "group a list of records by a key",
    "compute a moving average over a stream",
    "implement a trie for autocomplete",
    "topologically sort a dependency graph",
    "download a list of URLs concurrently",
    "hash a password with a salt",
    "generate a random password",
    "deep merge two objects",
    "convert Roman numerals to integers",
    "count word frequencies in a text",
    "detect a cycle in a directed graph",
    "implement a min heap",
    "serialize a tree to JSON",
    "chunk a list into batches of n",
    "read environment variables with defaults",
    "run a job every 5 minutes",
    "validate a JSON payload against a schema",
    "compute the Levenshtein distance",
    "implement a simple pub/sub",
    "tail a log file",
    "resize all images in a folder",
    "find the k most frequent elements",
    "render a markdown table from a list of dicts",
    "send an email with an attachment",
    "cache the result of an expensive call",
    "implement a circuit breaker",
    "split a bill among friends",
    "parse a cron expression",
    "find the median of two sorted arrays",
    "stream rows from Postgres",
    "implement Dijkstra's shortest path",
    "normalize phone numbers",
    "count business days between two dates",
)
IDENTS = (
    "user",
    "order",
    "item",
    "record",
    "payload",
    "invoice",
    "event",
    "node",
    "customer",
    "row",
    "ticket",
    "product",
    "session",
    "job",
    "task",
    "message",
    "account",
    "file",
    "coupon",
    "config",
)
FIELDS = (
    "price",
    "created_at",
    "status",
    "score",
    "total",
    "count",
    "email",
    "id",
    "amount",
    "updated_at",
    "name",
    "quantity",
    "priority",
    "user_id",
    "timestamp",
)
VERBS = (
    "load",
    "fetch",
    "parse",
    "process",
    "build",
    "compute",
    "sync",
    "filter",
    "normalize",
    "validate",
    "merge",
    "update",
    "get",
    "handle",
    "render",
)
TABLES = (
    ("orders", "customers", "customer_id"),
    ("invoices", "clients", "client_id"),
    ("events", "users", "user_id"),
    ("payments", "accounts", "account_id"),
    ("tickets", "agents", "agent_id"),
    ("enrollments", "students", "student_id"),
)

_SNIPPETS = {
    "python": (
        "def ${verb}_${ident}s(${ident}s, threshold=${num}):\n"
        "    result = []\n    for ${ident} in ${ident}s:\n"
        "        if ${ident}['${field}'] > threshold:\n"
        "            result.append(${ident})\n    return result\n",
        "import requests\n\n\ndef ${verb}_${ident}(${ident}_id):\n"
        '    resp = requests.get(f"{BASE_URL}/${ident}s/{${ident}_id}")\n'
        "    data = resp.json()\n    return data['${field}']\n",
        "class ${Ident}Repository:\n    def __init__(self, db):\n        self.db = db\n\n"
        "    def ${verb}(self, ${ident}_id):\n"
        '        row = self.db.execute("SELECT * FROM ${ident}s WHERE id = %s", (${ident}_id,))\n'
        "        return row.fetchone()\n",
        "df = pd.read_csv('${ident}s.csv')\ndf['${field}'] = pd.to_numeric(df['${field}'])\n"
        "summary = df.groupby('${field2}').agg({'${field}': "
        "'mean'})\nprint(summary.head(${num}))\n",
        "async def ${verb}_all(${ident}s):\n"
        "    tasks = [${verb}_one(x) for x in ${ident}s]\n"
        "    results = await asyncio.gather(*tasks)\n"
        "    return {r.${field}: r for r in results}\n",
    ),
    "javascript": (
        "function ${verb}${Ident}s(${ident}s) {\n"
        "  return ${ident}s\n    .filter(x => x.${field} > ${num})\n"
        "    .map(x => ({ ...x, ${field2}: Date.now() }));\n}\n",
        "app.get('/api/${ident}s/:id', async (req, res) => {\n"
        "  const ${ident} = await db.${ident}s.findOne({ id: req.params.id });\n"
        "  res.json(${ident}.${field});\n});\n",
        "const [${ident}s, set${Ident}s] = useState([]);\nuseEffect(() => {\n"
        "  fetch(`/api/${ident}s`).then(r => r.json()).then(set${Ident}s);\n}, []);\n",
    ),
    "typescript": (
        "interface ${Ident} {\n  id: string;\n  ${field}: number;\n  ${field2}?: string;\n}\n\n"
        "export function ${verb}${Ident}(items: ${Ident}[]): Map<string, ${Ident}> {\n"
        "  return new Map(items.map(i => [i.id, i]));\n}\n",
        "export async function ${verb}(id: string): Promise<${Ident} | undefined> {\n"
        "  const res = await fetch(`$${API}/${ident}s/$${id}`);\n"
        "  if (!res.ok) throw new Error(res.statusText);\n  return res.json();\n}\n",
    ),
    "go": (
        "func ${Verb}${Ident}s(ctx context.Context, ids []string) ([]${Ident}, error) {\n"
        "\tvar out []${Ident}\n\tfor _, id := range ids {\n"
        "\t\tx, err := store.Get(ctx, id)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n"
        "\t\tout = append(out, x)\n\t}\n\treturn out, nil\n}\n",
        'type ${Ident} struct {\n\tID    string `json:"id"`\n'
        '\t${Field} int    `json:"${field}"`\n}\n\n'
        "func (s *Server) handle${Ident}(w http.ResponseWriter, r *http.Request) {\n"
        "\tvar in ${Ident}\n\tjson.NewDecoder(r.Body).Decode(&in)\n"
        "\ts.ch <- in\n}\n",
    ),
    "rust": (
        "fn ${verb}_${ident}s(${ident}s: &Vec<${Ident}>) -> Vec<&${Ident}> {\n"
        "    ${ident}s.iter().filter(|x| x.${field} > ${num}).collect()\n}\n",
        "impl ${Ident} {\n    pub fn ${verb}(&mut self, other: &${Ident}) {\n"
        "        let first = &self.items[0];\n        self.items.push(other.clone());\n"
        '        println!("{:?}", first);\n    }\n}\n',
    ),
    "java": (
        "public List<${Ident}> ${verb}${Ident}s(List<${Ident}> input) {\n"
        "    List<${Ident}> out = new ArrayList<>();\n    for (${Ident} x : input) {\n"
        "        if (x.get${Field}() > ${num}) out.add(x);\n    }\n    return out;\n}\n",
        '@GetMapping("/${ident}s/{id}")\npublic ResponseEntity<${Ident}> get(@PathVariable Long '
        "id) {\n"
        "    return repo.findById(id).map(ResponseEntity::ok)\n"
        "        .orElse(ResponseEntity.notFound().build());\n}\n",
    ),
    "sql": (
        "SELECT c.name, SUM(o.${field}) AS total\nFROM ${t1} o\n"
        "JOIN ${t2} c ON c.id = o.${fk}\nWHERE o.created_at >= '2024-01-01'\n"
        "GROUP BY c.name\nORDER BY total DESC;\n",
        "UPDATE ${t1}\nSET status = 'archived'\nWHERE ${fk} IN (SELECT id FROM ${t2} WHERE active "
        "= false);\n",
    ),
    "bash": (
        "for f in ./${ident}s/*.json; do\n  jq '.${field}' \"$$f\" >> out.txt\ndone\n",
        "#!/bin/bash\nset -e\nDATE=$$(date +%F)\n"
        "tar -czf backup-$$DATE.tar.gz /var/www\naws s3 cp backup-$$DATE.tar.gz s3://backups/\n",
    ),
}

_ERRORS = {
    "python": (
        'Traceback (most recent call last):\n  File "app.py", line ${line}, in <module>\n'
        '    main()\n  File "app.py", line ${line2}, in ${verb}_${ident}\n'
        "    return data['${field}']\nKeyError: '${field}'",
        "TypeError: 'NoneType' object is not subscriptable",
        "ModuleNotFoundError: No module named '${module}'",
        "RecursionError: maximum recursion depth exceeded in comparison",
        "ValueError: invalid literal for int() with base 10: '${num}.5'",
        "AttributeError: 'DataFrame' object has no attribute '${field}'",
    ),
    "javascript": (
        "TypeError: Cannot read properties of undefined (reading '${field}')",
        "Uncaught (in promise) SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid "
        "JSON",
        "Error: listen EADDRINUSE: address already in use :::${port}",
    ),
    "typescript": (
        "error TS2339: Property '${field}' does not exist on type '${Ident}'.",
        "error TS2345: Argument of type 'string | undefined' is not assignable to parameter of "
        "type 'string'.",
    ),
    "go": (
        "panic: runtime error: index out of range [${num}] with length ${num}",
        "panic: assignment to entry in nil map",
        "fatal error: all goroutines are asleep - deadlock!",
    ),
    "rust": (
        "error[E0502]: cannot borrow `self.items` as mutable because it is also borrowed as "
        "immutable",
        "error[E0382]: borrow of moved value: `${ident}`",
    ),
    "java": (
        'Exception in thread "main" java.lang.NullPointerException: Cannot invoke '
        '"${Ident}.get${Field}()" because "${ident}" is null',
        "java.util.ConcurrentModificationException",
    ),
    "sql": (
        'ERROR:  column "${field}" must appear in the GROUP BY clause or be used in an aggregate '
        "function",
        'ERROR:  syntax error at or near "FROM"',
    ),
    "bash": ("line ${line}: syntax error near unexpected token `done'", "Permission denied"),
}
_MODULES = ("pandas", "yaml", "dotenv", "cv2", "sklearn", "torch", "bs4", "psycopg2", "boto3")


def _fill(rng: random.Random) -> dict[str, str]:
    ident = rng.choice(IDENTS)
    verb = rng.choice(VERBS)
    field = rng.choice(FIELDS)
    t1, t2, fk = rng.choice(TABLES)
    camel = "".join(part.title() for part in field.split("_"))
    return {
        "ident": ident,
        "Ident": ident.title(),
        "verb": verb,
        "Verb": verb.title(),
        "field": field,
        "Field": camel,
        "field2": rng.choice(FIELDS),
        "num": str(rng.randint(2, 500)),
        "line": str(rng.randint(3, 400)),
        "line2": str(rng.randint(3, 400)),
        "module": rng.choice(_MODULES),
        "port": str(rng.choice((3000, 8080, 5000, 8000))),
        "t1": t1,
        "t2": t2,
        "fk": fk,
    }


def pick_language(rng: random.Random) -> str:
    """A programming language weighted by how often people ask about it."""
    return rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]


def snippet(rng: random.Random, language: str) -> str:
    """A fenced code block in ``language`` (Python when there is no skeleton for it)."""
    lang = language if language in _SNIPPETS else "python"
    body = Template(rng.choice(_SNIPPETS[lang])).substitute(_fill(rng))
    return f"```{FENCE.get(lang, lang)}\n{body}```"


def error_message(rng: random.Random, language: str) -> str:
    """An error message or traceback as people paste it."""
    lang = language if language in _ERRORS else "python"
    return Template(rng.choice(_ERRORS[lang])).substitute(_fill(rng))


def diff(rng: random.Random) -> str:
    """A small unified diff, the payload of code-review products."""
    values = _fill(rng)
    old = Template("-    if ${ident}.${field} > ${num}:").substitute(values)
    new = Template("+    if ${ident}.${field} >= ${num} and ${ident}.${field2}:").substitute(values)
    path = f"src/{values['ident']}s/{values['verb']}.py"
    start = rng.randint(10, 300)
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -{start},6 +{start},7 @@ def {values['verb']}_{values['ident']}s(items):\n"
        f"     out = []\n     for {values['ident']} in items:\n{old}\n{new}\n"
        f"             out.append({values['ident']})\n"
        f"+    log.debug('kept %d', len(out))\n     return out\n"
    )
