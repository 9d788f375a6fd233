// What the chat asks of each run event (the selection of every ClaudeEvent member it
// renders), and how it words a budget stop.
export const EVENT = `__typename
  ... on RunStarted { seq }
  ... on SessionStarted { seq sessionId model }
  ... on AssistantText { seq text }
  ... on TextDelta { seq text index }
  ... on AssistantThinking { seq thinking }
  ... on ToolUse { seq toolUseId name input }
  ... on ToolResult { seq toolUseId content isError }
  ... on RunFinished { runId seq status subtype isError result durationMs numTurns totalCostUsd error reason exitCode }
  ... on RawEvent { seq source text }
  ... on MessageStarted { seq } ... on ContentBlockStarted { seq } ... on ToolInputDelta { seq }
  ... on ThinkingDelta { seq } ... on ContentBlockStopped { seq } ... on MessageDelta { seq }
  ... on MessageStopped { seq } ... on StatusChanged { seq status }
  ... on ApiRetry { seq attempt maxRetries retryDelayMs error }
  ... on UserMessage { seq text }
  ... on PermissionRequested { runId seq requestId toolName toolUseId input }
  ... on PermissionAnswered { seq requestId allow decidedBy message }
  ... on TurnFinished { seq isError interrupted }`;

// What a budget stop reads like to a person.
export function budgetWords(error) {
  return error && error.startsWith('BUDGET_EXCEEDED: ')
    ? `Stopped because this account's budget is spent: ${error.slice('BUDGET_EXCEEDED: '.length)}`
    : error;
}

// What a finished run's history needs (no token deltas: the complete texts are stored).
export const HISTORY_KINDS = ['RunStarted', 'SessionStarted', 'AssistantText', 'AssistantThinking', 'ToolUse',
  'ToolResult', 'RunFinished', 'RawEvent', 'UserMessage', 'PermissionRequested', 'PermissionAnswered', 'TurnFinished',
  'ApiRetry'];
