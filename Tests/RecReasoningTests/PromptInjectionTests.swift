import Foundation
import Testing
@testable import RecReasoning

/// Issue 14: item text is data. Placeholders inside it must reach the model as written, never
/// be expanded as if the template had them.
@Suite struct PromptInjectionTests {
    static let title = "Template {{items}} {{k}} {{format}} {{statement}} {{count}}"

    @Test func placeholdersInItemTextAreNotExpanded() {
        let renderer = ItemBlockRenderer()
        for _ in 0..<20 {  // dictionary order varied between runs: every order must be safe
            let (_, user) = PromptTemplate.openEnded.render(renderer.values(profile: profile([Self.title, "Quiet film"]), k: 3, json: false))
            #expect(user.contains("<item n=\"1\" rating=\"5\">\(Self.title)</item>"), "\(user)")
            #expect(user.components(separatedBy: PromptTemplate.formatInstruction(k: 3, json: false)).count == 2, "format expanded twice:\n\(user)")
        }
    }

    @Test func theClosedFormStatementIsDataToo() {
        let renderer = ItemBlockRenderer()
        var values = renderer.values(profile: profile(["Quiet film"]), k: 3, json: false)
        values["statement"] = "likes {{items}}"
        let (_, user) = PromptTemplate.closedForm.render(values)
        #expect(user.contains("Statement about the user: \"likes {{items}}\""), "\(user)")
        #expect(user.components(separatedBy: "Quiet film").count == 2)
    }

    @Test func substitutionIsOnePassAndLeavesUnknownPlaceholders() {
        #expect(PromptTemplate.substitute("a {{x}} b {{y}} {{unknown}} {{", ["x": "{{y}}", "y": "Y"]) == "a {{y}} b Y {{unknown}} {{")
        #expect(PromptTemplate.substitute("", [:]) == "")
    }
}
