//! The event types the fold knows, and what each implies: which are
//! item-level, which item type an event implies for an item never
//! announced, and which field a call's streamed string builds.

use super::state::TextField;

/// Whether `kind` is an item-level event type this fold knows: every other
/// type changes nothing (rule 9), even with an `output_index`.
pub fn item_event(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"response.output_item.added"
            | b"response.output_item.done"
            | b"response.content_part.added"
            | b"response.content_part.done"
            | b"response.reasoning_summary_part.added"
            | b"response.reasoning_summary_part.done"
            | b"response.output_text.delta"
            | b"response.output_text.done"
            | b"response.output_text.annotation.added"
            | b"response.refusal.delta"
            | b"response.refusal.done"
            | b"response.reasoning_text.delta"
            | b"response.reasoning_text.done"
            | b"response.reasoning_summary_text.delta"
            | b"response.reasoning_summary_text.done"
            | b"response.function_call_arguments.delta"
            | b"response.function_call_arguments.done"
            | b"response.mcp_call_arguments.delta"
            | b"response.mcp_call_arguments.done"
            | b"response.custom_tool_call_input.delta"
            | b"response.custom_tool_call_input.done"
            | b"response.code_interpreter_call_code.delta"
            | b"response.code_interpreter_call_code.done"
            | b"response.apply_patch_call_operation_diff.delta"
            | b"response.apply_patch_call_operation_diff.done"
            | b"response.shell_call_command.added"
            | b"response.shell_call_command.delta"
            | b"response.shell_call_command.done"
            | b"response.shell_call_output_content.delta"
            | b"response.shell_call_output_content.done"
            | b"response.audio.delta"
            | b"response.audio.done"
            | b"response.audio.transcript.delta"
            | b"response.audio.transcript.done"
            // Progress events: they name their item, which they create and
            // whose `item_id` they check, and fold nothing else.
            | b"response.code_interpreter_call.in_progress"
            | b"response.code_interpreter_call.interpreting"
            | b"response.code_interpreter_call.completed"
            | b"response.compaction.compacting"
            | b"response.file_search_call.in_progress"
            | b"response.file_search_call.searching"
            | b"response.file_search_call.completed"
            | b"response.web_search_call.in_progress"
            | b"response.web_search_call.searching"
            | b"response.web_search_call.completed"
            | b"response.image_generation_call.in_progress"
            | b"response.image_generation_call.generating"
            | b"response.image_generation_call.partial_image"
            | b"response.image_generation_call.completed"
            | b"response.mcp_call.in_progress"
            | b"response.mcp_call.completed"
            | b"response.mcp_call.failed"
            | b"response.mcp_list_tools.in_progress"
            | b"response.mcp_list_tools.completed"
            | b"response.mcp_list_tools.failed"
    )
}

/// The item type an event implies, for an item it names but nothing
/// announced; empty when the event does not say.
pub fn implied_kind(kind: &[u8]) -> &'static str {
    match kind {
        b"response.output_text.delta"
        | b"response.output_text.done"
        | b"response.output_text.annotation.added"
        | b"response.refusal.delta"
        | b"response.refusal.done"
        | b"response.content_part.added"
        | b"response.content_part.done" => "message",
        b"response.reasoning_text.delta"
        | b"response.reasoning_text.done"
        | b"response.reasoning_summary_text.delta"
        | b"response.reasoning_summary_text.done"
        | b"response.reasoning_summary_part.added"
        | b"response.reasoning_summary_part.done" => "reasoning",
        b"response.function_call_arguments.delta" | b"response.function_call_arguments.done" => {
            "function_call"
        }
        b"response.mcp_call_arguments.delta" | b"response.mcp_call_arguments.done" => "mcp_call",
        b"response.custom_tool_call_input.delta" | b"response.custom_tool_call_input.done" => {
            "custom_tool_call"
        }
        b"response.code_interpreter_call_code.delta"
        | b"response.code_interpreter_call_code.done" => "code_interpreter_call",
        b"response.apply_patch_call_operation_diff.delta"
        | b"response.apply_patch_call_operation_diff.done" => "apply_patch_call",
        b"response.shell_call_command.added"
        | b"response.shell_call_command.delta"
        | b"response.shell_call_command.done" => "shell_call",
        b"response.shell_call_output_content.delta"
        | b"response.shell_call_output_content.done" => "shell_call_output",
        _ => "",
    }
}

/// The item field a call's delta or done event builds.
pub fn text_field(kind: &[u8]) -> TextField {
    match kind {
        b"response.custom_tool_call_input.delta" | b"response.custom_tool_call_input.done" => {
            TextField::Input
        }
        b"response.code_interpreter_call_code.delta"
        | b"response.code_interpreter_call_code.done" => TextField::Code,
        b"response.apply_patch_call_operation_diff.delta"
        | b"response.apply_patch_call_operation_diff.done" => TextField::Diff,
        _ => TextField::Arguments,
    }
}
