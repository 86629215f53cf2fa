"""Sentence and prompt templates of the English prompt generators: data, no code.

Templates use ``streams.simulation.grammar``: ``{a|b}`` picks one alternative and
``[[slot]]`` is filled from the generator's slots.
"""

from __future__ import annotations

# --- payloads pasted into prompts -------------------------------------------------

PARAGRAPH_SENTENCES = {
    "business": (
        "[[company]] reported {an increase|a decline|a drop|growth} of [[pct]]% in "
        "{quarterly revenue|operating costs|customer churn|net income|active users} "
        "{compared to last year|year over year|this quarter|since the spring}.",
        "The {team|board|leadership team|finance department} {plans to|expects to|decided to} "
        "{expand into|pull back from|invest more in} {Europe|the APAC region|the mid-market "
        "segment|online sales|enterprise customers} {next year|by Q3|over the coming months}.",
        "{Analysts|Investors|Employees|Customers} {were|remain} {cautious|optimistic|divided} "
        "about {the new pricing model|the merger|the reorganization|the product roadmap}.",
        "{Supply chain delays|Higher interest rates|A weaker euro|Rising wages} "
        "{hurt|helped|squeezed} margins in the {second|third|fourth} quarter.",
        "{Headcount|Marketing spend|Inventory} {grew|shrank} to [[num]] {units|people|thousand "
        "dollars}.",
    ),
    "review": (
        "I bought [[product]] {two weeks|a month|three months|a year} ago {for myself|as a gift}.",
        "{Honestly|Overall|To be fair}, the {build quality|battery life|price|design} is "
        "{great|disappointing|better than expected|just ok}.",
        "{Shipping took forever|It arrived a day early|The box was damaged} and "
        "{customer service was helpful|nobody answered my emails|I had to return it once}.",
        "{I would|I wouldn't} recommend it {to anyone|for the price|if you are on a budget}.",
        "After [[num]] days of use the {strap|lid|cable|button} {broke|started squeaking|still "
        "works fine}.",
    ),
    "notes": (
        "- [[name]] to {follow up with legal|update the roadmap|send the deck|fix the flaky tests} "
        "by {Friday|EOD|next week|the 15th}",
        "- Decision: {postpone the launch|move to weekly releases|hire a contractor|drop IE "
        "support}",
        "- {Budget|Timeline|Scope} {is still open|was approved|needs another review}",
        "- Risks: {vendor lock-in|missing data|key person dependency|GDPR review}",
    ),
    "abstract": (
        "In this {paper|study|work}, we {propose|investigate|present} {a novel|an efficient|a "
        "simple} {method|framework|approach} for [[concept]].",
        "{Experiments|Results} on [[num]] {datasets|patients|benchmarks|participants} show "
        "{a significant improvement|comparable accuracy|a [[pct]]% reduction in error}.",
        "{Unlike prior work|In contrast to existing approaches}, our method {does not require|"
        "reduces the need for} {labelled data|large compute budgets|manual tuning}.",
        "We {also|further} {discuss limitations|release our code|analyze failure cases}.",
    ),
    "story": (
        "[[name]] {had never|always|finally} {seen|wanted to visit|left} [[city]].",
        "The {morning|night|storm|train} {was|felt} {quiet|endless|strange} and "
        "{cold|bright|heavy}.",
        "{Nobody|Everyone} in the {village|office|family} {knew|suspected} what had happened.",
        "{Years later|That evening|Suddenly}, a {letter|stranger|phone call} changed everything.",
    ),
}


# --- English prompt families --------------------------------------------------------

CODING = (
    "{Write|Can you write|I need|Give me|write me} a [[Lang]] function {to|that can} [[task]]"
    "{.|?| and explain how it works.| with type hints.| with a couple of tests.|}",
    "{I'm getting this error|Getting this error|why do I get this error|help, error|I keep "
    "getting this} {when I run my script|in [[project]]|after upgrading|}:\n\n[[error]]\n\n"
    "{here's the code:|code:|relevant code:|}\n[[snippet]]",
    "{What does this code do?|Explain this [[Lang]] code line by line|can you explain this|"
    "Is there a bug in this?}\n[[snippet]]",
    "{Refactor|Clean up|Make this more idiomatic|Optimize|Simplify} {this|the following} "
    "{code|function}{ for readability| to be faster| please|}:\n[[snippet]]",
    "Write {unit tests|tests|pytest tests|jest tests|table-driven tests} for this:\n[[snippet]]",
    "Convert this to [[Lang2]]:\n[[snippet]]",
    "{how do I|how to|what's the best way to|how would you} [[task]] in [[Lang]]{?|}",
    "Write a SQL query that {returns the top 5 [[t2]] by total [[field]]|finds [[t2]] with no "
    "[[t1]] in the last 30 days|computes monthly totals from [[t1]]|removes duplicate [[t1]]}."
    "{ Tables: [[t1]](id, [[fk]], [[field]], created_at), [[t2]](id, name, email).| Using "
    "postgres.|}",
    "{regex|Regular expression|Need a regex} to {match|validate|extract} {email addresses|US "
    "phone numbers|dates like 2024-[[mm]]-[[dd]]|URLs|hex colors|IPv4 addresses|[[field]] values}"
    "{ in [[Lang]]| from a log line| for a form field|}",
    "{bash|shell|linux|one-liner} command to {find all files larger than [[num]]MB|count lines "
    "in all .py files|kill the process on port [[port]]|rename all .jpeg files to .jpg|show disk "
    "usage by folder|watch a log file for errors|delete files older than [[num]] days}{| on mac| "
    "recursively| inside ./[[ident]]s|}",
    "how do I {undo my last commit|squash the last [[few]] commits|rename a branch|remove a file "
    "from git history|undo a git rebase|cherry-pick a commit from another branch|fix a detached "
    "HEAD}{?| without losing work| if I already pushed| in VS Code| on [[ident]]-fix branch}",
    "{What's the best way|How should I} {structure|deploy|test|containerize} [[project]]"
    "{ using [[Lang]]|}{?| - give me a plan.}",
)
WRITING = (
    "{Write|Draft|Help me write|Can you write} {an|a short|a} [[tone]] email to [[recipient]] "
    "[[purpose]]{.| Keep it under 150 words.| Sign it [[name]].|}",
    "{Summarize|tl;dr:|Can you summarize this|Summarise this in 3 bullet points|Give me the key "
    "points of this}\n\n[[paragraph]]",
    "{Rewrite|Polish|Make this sound more [[tone]]|Fix the grammar in|Proofread} {this|the "
    "following}{ paragraph| text|}:\n\n[[paragraph]]",
    "Write a cover letter for the [[role]] position at [[company]].{ I have [[years]] years of "
    "experience.| I'm a recent graduate.|}",
    "Write a LinkedIn post about {finishing|launching|shipping} [[project]]{| - not too cringe}",
    "Write a product description for [[product]]{| for an online shop| in [[words]] words}",
    "Give me {5|10|a few} {slogan|tagline|name} ideas for {a coffee shop|my podcast|a dog "
    "grooming business|a fintech app|a bakery|a YouTube channel about [[hobby]]}",
)
CREATIVE = (
    "Write a [[form]] about [[theme]]",
    "{Write|Tell me} a {short story|bedtime story|piece of flash fiction} about [[theme]]"
    "{| in under 300 words| for a [[age]] year old}",
    "tell me a joke about [[hobby]]",
    "Continue this story:\n\n[[story]]",
)
KNOWLEDGE = (
    "{Explain|Can you explain|ELI5:|What is|explain} [[concept]]{| like I'm five| in simple terms|"
    " to a high school student| with an example}{?|}",
    "{What's the difference between|difference between|Compare} [[a]] and [[b]]{?| - which "
    "should I use?| for [[project]]?}",
    "[[a]] vs [[b]]{?| for a beginner?}",
    "[[why]]{?|??|}",
    "{Give me a brief history of|What caused|Summarize} [[history]]",
    "{pros and cons of|Is it worth learning|what are the downsides of} [[a]]{?|}",
)
EVERYDAY = (
    "{What can I make with|I have|recipe ideas with} [[i1]], [[i2]] and [[i3]]{| - something "
    "[[diet]]|. ideas?|?}",
    "{Plan|Make me|Create} a [[days]]-day itinerary for [[city]]{| with kids| on a budget| in "
    "[[month]]}",
    "{create|Make} a [[weeks]]-week {workout|running|strength} plan for {a beginner|someone who "
    "can "
    "do 5 pushups|a first 10k|getting back in shape}",
    "gift ideas for [[relation]] who likes [[hobby]]{, budget $[[amount]]|}",
    "how {do I|to|can I} [[household]]{?|}",
    "{best|good} {books|podcasts|movies} about [[hobby]]{?| for beginners}",
)
ADVICE = (
    "[[situation]]{| and I'm [[a_role]]| and it's been [[few]] weeks}. {Any advice?|What should "
    "I do?|How should I prepare?|thoughts?|help|What would you do?}",
)
WORK = (
    "{Please |Can you |}[[business]]{| for [[company]]| for a team of [[num]] people}",
    "[[business]]{. Our company is [[company]].|. Context: we are a team of [[num]] people.|. We "
    "sell [[product]].|. Audience: [[role]]s.}",
)
DATA = (
    "{Convert this to JSON|Turn this into a JSON array|json please}:\n[[table]]",
    "Extract all {names and emails|dates and amounts|company names} from the text below "
    "{as JSON|into a JSON array|and return JSON}:\n\n[[paragraph]]",
    "Generate {10|20|5} fake [[ident]] records as JSON with fields [[fields]]",
    "Write a JSON schema for a [[ident]] object with [[fields]]",
)
TRANSLATION = (
    "Translate {this|the following} {into|to} [[lang]]:{ |\n}[[sentence]]",
    'how do you say "[[sentence]]" in [[lang]]',
    "{Is this correct|Check my [[lang]]}: [[sentence]]",
)


FOLLOW_UPS = {
    "code": (
        "{that didn't work, |still broken: |now I get |}[[error]]",
        "{can you add|add} {comments|type hints|error handling|logging}{?| please}",
        "{ok|great|perfect}{,|} how would I test this?",
        "now do the same in [[Lang2]]",
        "why did you use [[ident]] there?",
        "{make it faster|can it be done without a loop|what's the time complexity}?",
    ),
    "chat": (
        "{can you|could you} {explain|elaborate on} the {second|last|first} {point|part} "
        "{again|more}",
        "give me {another|a real world|a simpler} example",
        "what about [[concept]]?",
        "{thanks! |ok |}{and|but} why?",
        "{shorter please|tl;dr?|summarize that in one sentence}",
    ),
    "writing": (
        "{can you make it|make it} {shorter|more formal|more casual|funnier|less salesy|warmer}",
        "{Good, |ok |}now translate it to [[lang]]",
        "{rewrite|redo} the {first|last} {paragraph|sentence}",
        "give me 3 {more|alternative} versions",
        "add a {subject line|call to action|closing line}",
    ),
}


IDE_PROMPTS = (
    "[[snippet]]\n\n{Explain this code|What does this do?|explain|walk me through this}",
    "[[snippet]]\n\n{Add docstrings|Add type hints|Add comments|Add input validation}"
    "{ to this function| to this|}",
    "{Write tests for the selected code|Generate unit tests|tests for this pls}\n\n[[snippet]]",
    "[[snippet]]\n\n{Fix this error|Getting this error|why does this fail}:\n[[error]]",
    "[[snippet]]\n\n{Refactor this to be more readable|Make this async|Extract a helper "
    "function|Rename variables to be clearer|Convert this to [[Lang2]]}",
    "{Selected code:|Context:|}\n[[snippet]]\n\n{Is there a bug here?|How can I make this "
    "faster?|Can this be simplified?|Why is this slow with [[num]]k rows?}",
)
