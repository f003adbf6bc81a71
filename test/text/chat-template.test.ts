import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatTemplate, flattenContent } from '../../src/text/chat-template.ts';
import { loadGgufTokenizer, loadHfTokenizer } from '../../src/text/load.ts';
import { ggufMetadata, MODELS, STORIES } from './helpers.ts';

const hi = [{ role: 'user', content: 'Hi' }];

describe("stories260K's trivial template", () => {
  // stories260K.gguf carries no template; the synthetic llama GGUF has the same one in tokenizer.chat_template.
  for (const [name, tok] of [
    ['tokenizer_config.json', loadHfTokenizer(`${STORIES}hf`)],
    ['GGUF', loadGgufTokenizer(ggufMetadata(`${MODELS}synthetic/llama/llama.gguf`))],
  ] as const) {
    it(`${name}: renders bos + contents joined by newlines; tokenizing it without special tokens keeps one BOS`, () => {
      const t = new ChatTemplate(tok.chatTemplate as string, tok.specialTokenStrings);
      const text = t.render(
        [
          { role: 'user', content: 'Once upon a time' },
          { role: 'assistant', content: 'there was' },
        ],
        { addGenerationPrompt: true },
      );
      assert.equal(text, '<s>Once upon a time\nthere was');
      const ids = tok.encode(text, { addSpecialTokens: false });
      assert.deepEqual(ids.slice(0, 5), [1, 403, 407, 261, 378]);
      assert.equal(ids.filter((id) => id === 1).length, 1);
    });
  }
});

// Written for this test after the shape described in models.md §5.3 (ERNIE-4.5-0.3B).
const ERNIE = `{%- if not add_generation_prompt is defined -%}{%- set add_generation_prompt = true -%}{%- endif -%}
{%- if not cls_token is defined -%}{%- set cls_token = "<|begin_of_sentence|>" -%}{%- endif -%}
{%- if not sep_token is defined -%}{%- set sep_token = "<|end_of_sentence|>" -%}{%- endif -%}
{{- cls_token -}}
{%- for message in messages -%}
  {%- if message["role"] == "user" -%}
    {{- "User: " + message["content"] + "\\n" -}}
  {%- elif message["role"] == "assistant" -%}
    {{- "Assistant: " + message["content"] + sep_token -}}
  {%- elif message["role"] == "system" -%}
    {{- message["content"] + "\\n" -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- "Assistant: " -}}
{%- endif -%}`;

describe('ERNIE-4.5-style template', () => {
  const t = new ChatTemplate(ERNIE, {
    bos_token: '<s>',
    eos_token: '</s>',
    cls_token: '<|begin_of_sentence|>',
    sep_token: '<|end_of_sentence|>',
  });

  it('renders the expected prompts of models.md §5.3', () => {
    assert.equal(t.render(hi, { addGenerationPrompt: true }), '<|begin_of_sentence|>User: Hi\nAssistant: ');
    assert.equal(
      t.render([{ role: 'system', content: 'S' }, ...hi], { addGenerationPrompt: true }),
      '<|begin_of_sentence|>S\nUser: Hi\nAssistant: ',
    );
    const turns = [
      { role: 'user', content: 'u1' },
      { role: 'assistant', content: 'a1' },
      { role: 'tool', content: 'dropped' },
      { role: 'user', content: 'u2' },
    ];
    assert.equal(
      t.render(turns, { addGenerationPrompt: true }),
      '<|begin_of_sentence|>User: u1\nAssistant: a1<|end_of_sentence|>User: u2\nAssistant: ',
    );
    assert.equal(t.render(hi), '<|begin_of_sentence|>User: Hi\n');
  });

  it('uses the special-token strings it is given', () => {
    const other = new ChatTemplate(ERNIE, { cls_token: '<cls>', sep_token: '<sep>' });
    assert.equal(other.render([...hi, { role: 'assistant', content: 'Yo' }]), '<cls>User: Hi\nAssistant: Yo<sep>');
  });
});

// Written for this test: ChatML in the Qwen2.5 manner (default system prompt, tools, tool calls, grouped
// tool responses) plus Qwen3's enable_thinking switch.
const CHATML = `{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == "user" or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>assistant' }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls if message.tool_calls is defined %}
            {%- set tc = tool_call.function if tool_call.function is defined else tool_call %}
            {{- '\\n<tool_call>\\n{"name": "' + tc.name + '", "arguments": ' + (tc.arguments | tojson) + '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or messages[loop.index0 - 1].role != "tool" %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != "tool" %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}`;

describe('ChatML/Qwen-style template', () => {
  const t = new ChatTemplate(CHATML, { eos_token: '<|im_end|>', pad_token: '<|endoftext|>' });
  const SYS = '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n';

  it('renders the Qwen2.5 prompt of models.md §5.3', () => {
    assert.equal(
      t.render(hi, { addGenerationPrompt: true }),
      `${SYS}<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n`,
    );
  });

  it('passes chat_template_kwargs (enable_thinking) and ignores attempts to replace built-ins', () => {
    const kwargs = { enable_thinking: false, raise_exception: 1, strftime_now: 2 };
    assert.equal(
      t.render(hi, { addGenerationPrompt: true, kwargs }),
      `${SYS}<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`,
    );
    // kwargs cannot replace the fixed arguments
    assert.equal(
      t.render(hi, { addGenerationPrompt: false, kwargs: { add_generation_prompt: true, messages: [] } }),
      `${SYS}<|im_start|>user\nHi<|im_end|>\n`,
    );
  });

  it('renders tools with Python-style tojson, tool calls and grouped tool responses', () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const messages = [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } },
          { id: 'b', type: 'function', function: { name: 'get_weather', arguments: { city: 'Rome' } } },
        ],
      },
      { role: 'tool', tool_call_id: 'a', content: '18C' },
      { role: 'tool', tool_call_id: 'b', content: '21C' },
    ];
    const expected =
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n<tools>\n' +
      '{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": ' +
      '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n</tools><|im_end|>\n' +
      '<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n' +
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' +
      '\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n21C\n</tool_response><|im_end|>\n' +
      '<|im_start|>assistant\n';
    assert.equal(t.render(messages, { tools, addGenerationPrompt: true }), expected);
    // OpenAI sends arguments as a JSON string: rendered the same, and the caller's messages stay untouched
    const asStrings = messages.map((m) =>
      m.tool_calls
        ? {
            ...m,
            tool_calls: m.tool_calls.map((tc) => ({
              ...tc,
              function: { ...tc.function, arguments: JSON.stringify(tc.function.arguments) },
            })),
          }
        : m,
    );
    assert.equal(t.render(asStrings, { tools, addGenerationPrompt: true }), expected);
    assert.equal(typeof asStrings[1].tool_calls?.[0].function.arguments, 'string');
    // an empty tools list is "no tools"
    assert.equal(t.render(hi, { tools: [] }), `${SYS}<|im_start|>user\nHi<|im_end|>\n`);
  });

  it('surfaces raise_exception as an error', () => {
    const strict = new ChatTemplate("{{ raise_exception('roles must alternate') }}", {});
    assert.throws(() => strict.render(hi), /roles must alternate/);
  });
});

describe('flattenContent', () => {
  it('keeps strings and null, joins text parts, drops other parts', () => {
    assert.equal(flattenContent('plain'), 'plain');
    assert.equal(flattenContent(null), null);
    assert.equal(flattenContent(undefined), null);
    assert.equal(
      flattenContent([
        { type: 'text', text: 'Hello' },
        { type: 'image_url', image_url: { url: 'data:' } },
        { type: 'text', text: 'world' },
      ]),
      'Hello\nworld',
    );
    assert.equal(flattenContent([{ type: 'text', text: 'a' }, 'b'], ''), 'ab');
    assert.equal(flattenContent([]), '');
  });
});
